import * as http from "node:http";
import * as http2 from "node:http2";
import * as tls from "node:tls";
import type { Server, Socket } from "node:net";
import type { Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ListenerConfig, TlsServerConfig } from "../config/types.js";
import { CleartextServer, forwardSubscriptions } from "./cleartext-server.js";
import { StreamRequest } from "./stream-exchange.js";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ListenerHandlers {
  /** HTTP/1.1 requests, and HTTP/2 ones `stream` declined, as Node's request and response (compat for HTTP/2). */
  request: Handler;
  /** Each HTTP/2 stream first: return true to answer it on the bare stream (see StreamRequest). */
  stream(req: StreamRequest, stream: ServerHttp2Stream): boolean;
}

/**
 * One port for HTTP/1.1 and HTTP/2: cleartext connections are told apart by
 * the HTTP/2 preface, TLS ones by ALPN (h2, http/1.1). Either way the socket
 * ends up with one of two servers, node:http or node:http2. The listener
 * keeps track of its connections because, with a custom server, closing them
 * on shutdown is the gateway's job.
 */
export class Listener {
  readonly server: Server;
  private readonly http1: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();

  constructor(config: ListenerConfig, handlers: ListenerHandlers) {
    const http2Options: http2.ServerOptions = {
      // Generous windows and session memory: a proxy multiplexes many
      // calls per connection and Node's defaults throttle it.
      settings: { initialWindowSize: 1 << 20, maxConcurrentStreams: 1000 },
      maxSessionMemory: 64,
    };
    this.http1 = http.createServer(handlers.request);
    const h2 = http2.createServer(http2Options);
    // Never listens: builds Node's compat request and response for the
    // HTTP/2 streams the proxy does not take on the bare stream.
    const compat = http2.createServer(http2Options, handlers.request as never);
    h2.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      if (!handlers.stream(new StreamRequest(stream, headers), stream))
        compat.emit("stream", stream, headers, flags, rawHeaders);
    });

    if (config.tls) {
      // A TLS port is TLS only (sniffing would let cleartext in, bypassing
      // requireClientCert); ALPN picks h2 or http/1.1, and a client that
      // offers no ALPN gets HTTP/1.1, as with node:http2's allowHTTP1.
      const server = tls.createServer({
        ...secureContextOptions(config.tls),
        requestCert: config.tls.clientCa !== undefined || config.tls.requireClientCert,
        rejectUnauthorized: config.tls.requireClientCert,
        ALPNProtocols: ["h2", "http/1.1"],
        noDelay: true,
      });
      server.on("secureConnection", (socket: tls.TLSSocket) => {
        (socket.alpnProtocol === "h2" ? h2 : this.http1).emit("connection", socket);
      });
      forwardSubscriptions(server, [this.http1, h2]);
      this.server = server;
    } else {
      this.server = new CleartextServer(this.http1, h2);
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
    h2.on("session", (session: Http2Session) => {
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
    this.http1.on("clientError", (_err: Error, socket: Socket) => socket.destroy());
  }

  /** Stops accepting and asks HTTP/2 clients to go away (GOAWAY); in-flight streams finish. */
  beginDrain(): void {
    this.server.close();
    for (const s of this.sessions) {
      if (!s.closed) s.close();
    }
    // Idle HTTP/1.1 keep-alive sockets would hold the drain open.
    this.http1.closeIdleConnections();
  }

  /**
   * Graceful stop of this listener alone (a reload removed it): beginDrain,
   * then wait until its connections are gone or `timeoutMs` passes, closing
   * HTTP/1.1 sockets as they fall idle; then end whatever is left.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.beginDrain();
    const until = performance.now() + timeoutMs;
    while (this.sockets.size > 0 && performance.now() < until) {
      await new Promise((r) => setTimeout(r, 50));
      this.http1.closeIdleConnections();
    }
    this.destroyAll();
  }

  /**
   * Certificate rotation: new handshakes get the new certificate, key and
   * client CA; connections already up keep theirs. Whether client
   * certificates are asked for is fixed when the server is built
   * (a change there replaces the listener).
   */
  setTls(config: TlsServerConfig): void {
    if (!(this.server instanceof tls.Server)) throw new Error("not a TLS listener");
    this.server.setSecureContext(secureContextOptions(config));
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

function secureContextOptions(config: TlsServerConfig): tls.SecureContextOptions {
  return { cert: config.cert, key: config.key, ca: config.clientCa };
}

/** Why these PEMs cannot serve TLS (e.g. the key does not match the certificate), or undefined when they can. */
export function checkTls(config: TlsServerConfig): string | undefined {
  try {
    tls.createSecureContext(secureContextOptions(config));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
