import { createSecureServer } from "node:http2";
import type { Server } from "node:net";
import type { Socket } from "node:net";
import type { Http2Session } from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ListenerConfig } from "../config/types.js";
import { CleartextServer } from "./cleartext-server.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * One port for HTTP/1.1 and HTTP/2: cleartext connections are told apart by
 * the HTTP/2 preface, TLS ones by ALPN (h2, http/1.1). The listener keeps
 * track of its connections because, with a custom server, closing them on
 * shutdown is the gateway's job.
 */
export class Listener {
  readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();

  constructor(config: ListenerConfig, handler: Handler) {
    const http2Options = {
      // Generous windows and session memory: a proxy multiplexes many
      // calls per connection and Node's defaults throttle it.
      settings: { initialWindowSize: 1 << 20, maxConcurrentStreams: 1000 },
      maxSessionMemory: 64,
    };
    if (config.tls) {
      // A TLS port is TLS only: ALPN picks h2 or http/1.1. (Sniffing would
      // also accept cleartext here, bypassing requireClientCert.)
      this.server = createSecureServer(
        {
          ...http2Options,
          cert: config.tls.cert,
          key: config.tls.key,
          ca: config.tls.clientCa,
          requestCert: config.tls.clientCa !== undefined || config.tls.requireClientCert,
          rejectUnauthorized: config.tls.requireClientCert,
          ALPNProtocols: ["h2", "http/1.1"],
          allowHTTP1: true,
        },
        handler as never,
      );
    } else {
      this.server = new CleartextServer(http2Options, handler);
    }
    this.server.on("connection", (socket: Socket) => {
      if (this.sockets.has(socket)) return;
      this.sockets.add(socket);
      // HTTP/2 sockets keep Nagle on by default; small gRPC frames would
      // then wait for delayed ACKs (~40 ms each).
      socket.setNoDelay?.(true);
      socket.on("error", () => {});
      socket.once("close", () => this.sockets.delete(socket));
    });
    this.server.on("session", (session: Http2Session) => {
      this.sessions.add(session);
      session.on("error", () => {});
      session.once("close", () => this.sessions.delete(session));
      session.once("connect", () => {
        try {
          session.setLocalWindowSize(16 << 20);
        } catch {
          // the session closed already
        }
      });
      try {
        session.setLocalWindowSize(16 << 20);
      } catch {
        // not yet connected; the 'connect' handler does it
      }
    });
    this.server.on("tlsClientError", () => {});
    this.server.on("clientError", (_err: Error, socket: Socket) => socket.destroy());
  }

  /** Stops accepting and asks HTTP/2 clients to go away (GOAWAY); in-flight streams finish. */
  beginDrain(): void {
    this.server.close();
    for (const s of this.sessions) {
      if (!s.closed) s.close();
    }
    // Idle HTTP/1.1 keep-alive sockets would hold the drain open.
    (this.server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  }

  /** Ends whatever is still open. */
  destroyAll(): void {
    for (const s of this.sessions) s.destroy();
    for (const s of this.sockets) s.destroy();
  }

  get connectionCount(): number {
    return this.sockets.size;
  }
}
