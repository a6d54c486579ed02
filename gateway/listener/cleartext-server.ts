import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { sniffPreface } from "./preface.js";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Events the TCP server owns; the rest belong to the HTTP sub-servers. */
const OWN_EVENTS = new Set(["connection", "listening", "close", "error", "drop", "newListener", "removeListener"]);

const ignore = () => {};

/**
 * h2c and HTTP/1.1 on one cleartext port, told apart by the HTTP/2 preface.
 *
 * httpolyglot did this before, but it hands HTTP/2 sockets over with
 * `isStreamBase = false`, so every byte went through a JS stream wrapper
 * (JSStreamSocket) instead of nghttp2 reading the socket itself: about a
 * quarter of the gateway's CPU per small call (bench/RESULTS.md). Here the
 * sniffed bytes are put back with unshift(), which node:http2 replays into
 * the session (nodejs/node#35475), and the socket keeps its native handle.
 */
export class CleartextServer extends net.Server {
  readonly http1: http.Server;
  readonly http2: http2.Http2Server;

  constructor(http2Options: http2.ServerOptions, handler: Handler, private readonly sniffTimeoutMs = 10_000) {
    super({ noDelay: true }, (socket) => this.sniff(socket));
    this.http1 = http.createServer(handler);
    this.http2 = http2.createServer(http2Options, handler as never);
    // Subscriptions made on this server ('session', 'clientError', 'request',
    // ...) are meant for whichever sub-server ends up with the connection.
    this.on("newListener", (event: string, listener: (...args: unknown[]) => void) => {
      if (OWN_EVENTS.has(event)) return;
      this.http1.on(event, listener);
      this.http2.on(event, listener);
    });
    this.on("removeListener", (event: string, listener: (...args: unknown[]) => void) => {
      if (OWN_EVENTS.has(event)) return;
      this.http1.removeListener(event, listener);
      this.http2.removeListener(event, listener);
    });
  }

  private sniff(socket: net.Socket): void {
    socket.on("error", ignore);
    // A connection that never says anything must not be held forever.
    const timer = setTimeout(() => socket.destroy(), this.sniffTimeoutMs);
    timer.unref();
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
