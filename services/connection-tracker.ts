import type * as http from "node:http";
import type * as http2 from "node:http2";
import type * as net from "node:net";

export interface ConnectionTracker {
  /**
   * Stops accepting, lets in-flight work finish for up to graceMs, then
   * destroys whatever is left. Resolves once every connection is gone.
   */
  drain(graceMs: number): Promise<void>;
}

/**
 * Remembers the sockets and HTTP/2 sessions of a server so close() cannot
 * hang: net.Server#close waits for every connection, and clients happily keep
 * idle keep-alive sockets and HTTP/2 sessions (or hung calls) open forever.
 *
 * Works on an httpolyglot server, which forwards 'connection', 'session' and
 * 'request' subscriptions to its HTTP/1 and HTTP/2 sub-servers.
 */
export function trackConnections(server: net.Server): ConnectionTracker {
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  // HTTP/1 sockets and their in-flight request count: an idle one can be
  // closed at once, a busy one only when its response is done.
  const http1InFlight = new WeakMap<net.Socket, number>();
  let draining = false;

  server.on("connection", (socket: net.Socket) => {
    // The polyglot and the sub-server it hands the socket to both report it.
    if (sockets.has(socket)) return;
    sockets.add(socket);
    // A client resetting its connection must never crash the replica.
    socket.on("error", ignore);
    socket.once("close", () => sockets.delete(socket));
  });

  server.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on("error", ignore);
    session.once("close", () => sessions.delete(session));
    if (draining) session.close();
  });

  server.on("request", (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse) => {
    if (req.httpVersionMajor !== 1) return;
    const socket = req.socket as net.Socket;
    http1InFlight.set(socket, (http1InFlight.get(socket) ?? 0) + 1);
    res.once("close", () => {
      const left = (http1InFlight.get(socket) ?? 1) - 1;
      http1InFlight.set(socket, left);
      if (draining && left === 0) socket.destroy();
    });
  });

  async function drain(graceMs: number): Promise<void> {
    draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // GOAWAY lets HTTP/2 clients finish their streams and stop opening new ones.
    for (const session of sessions) session.close();
    for (const socket of sockets) {
      if (http1InFlight.get(socket) === 0) socket.destroy();
    }
    const deadline = setTimeout(() => {
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
    }, graceMs);
    try {
      await closed;
    } finally {
      clearTimeout(deadline);
    }
  }

  return { drain };
}

function ignore(): void {}
