import type * as http from "node:http";
import type * as http2 from "node:http2";
import * as net from "node:net";
import { sniffPreface } from "./preface.js";

const ignore = () => {};

/**
 * h2c and HTTP/1.1 on one cleartext port, told apart by the HTTP/2 preface,
 * then handed to the HTTP/1.1 or the HTTP/2 server.
 *
 * httpolyglot did this before, but it hands HTTP/2 sockets over with
 * `isStreamBase = false`, so every byte went through a JS stream wrapper
 * (JSStreamSocket) instead of nghttp2 reading the socket itself. Here the
 * sniffed bytes are put back with unshift(), which node:http2 replays into
 * the session (nodejs/node#35475), and the socket keeps its native handle.
 */
export class CleartextServer extends net.Server {
  constructor(
    readonly http1: http.Server,
    readonly http2: http2.Http2Server,
    /** How long a new connection may take to say which HTTP it speaks (0: no limit). */
    private readonly sniffTimeoutMs: () => number = () => 10_000,
  ) {
    super({ noDelay: true }, (socket) => this.sniff(socket));
    forwardSubscriptions(this, [http1, http2]);
  }

  private sniff(socket: net.Socket): void {
    socket.on("error", ignore);
    // A connection that never says anything must not be held forever.
    const ms = this.sniffTimeoutMs();
    const timer = ms > 0 ? setTimeout(() => socket.destroy(), ms) : undefined;
    timer?.unref();
    socket.once("close", () => clearTimeout(timer));
    let seen: Buffer | undefined;
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) seen = seen ? Buffer.concat([seen, chunk]) : chunk;
      if (!seen) return;
      const kind = sniffPreface(seen);
      if (kind === "need-more") return;
      clearTimeout(timer);
      socket.removeListener("readable", onReadable);
      socket.unshift(seen);
      (kind === "h2" ? this.http2 : this.http1).emit("connection", socket);
    };
    socket.on("readable", onReadable);
  }

  /** Lets HTTP/1.1 keep-alive sockets that sit between requests go at once (graceful drain). */
  closeIdleConnections(): void {
    this.http1.closeIdleConnections();
  }
}

/** Events the accepting server owns; the rest belong to the HTTP servers behind it. */
const OWN_EVENTS = new Set([
  "connection",
  "secureConnection",
  "listening",
  "close",
  "error",
  "drop",
  "newListener",
  "removeListener",
  "tlsClientError",
]);

/**
 * Subscriptions made on the accepting server ('session', 'clientError',
 * ...) are meant for whichever HTTP server ends up with the connection.
 */
export function forwardSubscriptions(front: net.Server, behind: Array<http.Server | http2.Http2Server>): void {
  front.on("newListener", (event: string, listener: (...args: unknown[]) => void) => {
    if (OWN_EVENTS.has(event)) return;
    for (const s of behind) s.on(event, listener);
  });
  front.on("removeListener", (event: string, listener: (...args: unknown[]) => void) => {
    if (OWN_EVENTS.has(event)) return;
    for (const s of behind) s.removeListener(event, listener);
  });
}
