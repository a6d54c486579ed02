import * as http from "node:http";
import * as http2 from "node:http2";
import * as tls from "node:tls";
import type { Server, Socket } from "node:net";
import type { Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ConnectionLimits, ListenerConfig, TlsServerConfig } from "../config/types.js";
import { CleartextServer, forwardSubscriptions } from "./cleartext-server.js";
import { StreamRequest } from "./stream-exchange.js";
import { SessionGuard } from "./session-guard.js";

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
  private readonly h2: http2.Http2Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Http2Session>();
  private limits: ConnectionLimits;

  constructor(config: ListenerConfig, limits: ConnectionLimits, handlers: ListenerHandlers) {
    this.limits = limits;
    const http2Options: http2.ServerOptions = {
      // Generous windows and session memory: a proxy multiplexes many
      // calls per connection and Node's defaults throttle it.
      settings: h2Settings(limits),
      maxSessionMemory: 64,
      // A backstop only: maxHeadersCount is checked per stream below, where
      // a reload can change it, and the header list's size bounds the count.
      maxHeaderListPairs: MAX_HEADER_PAIRS,
    };
    this.http1 = http.createServer(
      {
        maxHeaderSize: limits.maxRequestHeadersBytes,
        // A request may stream for as long as it likes; its headers may not
        // take long (requestHeadersTimeout), nor may an idle connection
        // stay (idleTimeout, the keep-alive timeout).
        requestTimeout: 0,
        headersTimeout: limits.requestHeadersTimeoutMs,
        keepAliveTimeout: limits.idleTimeoutMs,
        // Node checks the header timeout of every connection this often
        // (default 30 s, which would let a slow client stay twice as long).
        connectionsCheckingInterval: CHECK_INTERVAL_MS,
      },
      (req: IncomingMessage, res: ServerResponse) => {
        if (req.rawHeaders.length > 2 * this.limits.maxHeadersCount) refuseHeaders(res, this.limits.maxHeadersCount);
        else handlers.request(req, res);
      },
    );
    // Counted in the handler above, against the limit of the moment. Node's
    // own cap would drop the fields past it, Host among them, and answer
    // 400 for that; maxRequestHeadersBytes bounds the count anyway.
    this.http1.maxHeadersCount = 0;
    const h2 = (this.h2 = http2.createServer(http2Options));
    // Never listens: builds Node's compat request and response for the
    // HTTP/2 streams the proxy does not take on the bare stream.
    const compat = http2.createServer(http2Options, handlers.request as never);
    const guards = new WeakMap<Http2Session, SessionGuard>();
    h2.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      if (guards.get(stream.session!)?.onStream(stream) === false) {
        // Closing with an error code emits 'error' on the stream: never let it reach the process.
        stream.on("error", () => {});
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
      }
      if (rawHeaders.length > 2 * this.limits.maxHeadersCount) refuseHeaders(stream, this.limits.maxHeadersCount);
      else if (!handlers.stream(new StreamRequest(stream, headers), stream))
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
        // The handshake is part of the time a client has to send its headers.
        // Fixed when the server is built (Node has no setter for it).
        handshakeTimeout: limits.requestHeadersTimeoutMs || limits.idleTimeoutMs || undefined,
      });
      server.on("secureConnection", (socket: tls.TLSSocket) => {
        (socket.alpnProtocol === "h2" ? h2 : this.http1).emit("connection", socket);
      });
      forwardSubscriptions(server, [this.http1, h2]);
      this.server = server;
    } else {
      this.server = new CleartextServer(
        this.http1,
        h2,
        () => this.limits.requestHeadersTimeoutMs || this.limits.idleTimeoutMs,
      );
    }
    this.server.maxConnections = limits.maxConnections;
    // Node's HTTP/1.1 server starts its header-timeout checks (and the
    // connection list closeIdleConnections uses) when it starts listening.
    // This one never listens: the accepting server hands it sockets.
    this.server.once("listening", () => this.http1.emit("listening"));
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
      guards.set(session, new SessionGuard(session, () => this.limits));
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
    // What Node's own handler does (400, 408, 431), which Fastify's would
    // too, but said in plain text and with the connection closed after.
    this.http1.on("clientError", answerClientError);
  }

  /**
   * New limits from a reload. Connections open now get the new timeouts,
   * header and reset limits at their next event, HTTP/2 ones the new
   * stream limit; the TLS handshake timeout stays as the server was built.
   */
  setLimits(limits: ConnectionLimits): void {
    this.limits = limits;
    this.server.maxConnections = limits.maxConnections;
    this.http1.headersTimeout = limits.requestHeadersTimeoutMs;
    this.http1.keepAliveTimeout = limits.idleTimeoutMs;
    (this.http1 as { maxHeaderSize?: number }).maxHeaderSize = limits.maxRequestHeadersBytes;
    const settings = h2Settings(limits);
    this.h2.updateSettings(settings);
    for (const s of this.sessions) {
      try {
        if (!s.destroyed && !s.closed) s.settings({ maxConcurrentStreams: settings.maxConcurrentStreams });
      } catch {
        // a session that is going away
      }
    }
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
    // Stops the HTTP/1.1 server's connection checks.
    this.http1.close();
  }

  get connectionCount(): number {
    return this.sockets.size;
  }
}

/** The header timeout is checked this often; a slow client stays at most this much longer than the timeout. */
const CHECK_INTERVAL_MS = 1_000;

/** Node's own cap on header fields per HTTP/2 stream: above what the schema allows (limits.maxHeadersCount). */
const MAX_HEADER_PAIRS = 10_000 + 4;

function h2Settings(limits: ConnectionLimits): http2.Settings {
  return {
    initialWindowSize: 1 << 20,
    maxConcurrentStreams: limits.maxConcurrentStreams,
    maxHeaderListSize: limits.maxRequestHeadersBytes,
  };
}

/** 431 for a request with more header fields than maxHeadersCount, on HTTP/1.1 (then closed) or one HTTP/2 stream. */
function refuseHeaders(res: ServerResponse | ServerHttp2Stream, max: number): void {
  const body = `request has more than ${max} header fields (limits.maxHeadersCount)\n`;
  const headers = { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) };
  if ("respond" in res) {
    res.on("error", () => {});
    res.respond({ ":status": 431, ...headers });
    res.end(body);
    return;
  }
  res.shouldKeepAlive = false;
  res.writeHead(431, { ...headers, connection: "close" });
  res.end(body);
}

const CLIENT_ERRORS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: "431 Request Header Fields Too Large",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "413 Payload Too Large",
  ERR_HTTP_REQUEST_TIMEOUT: "408 Request Timeout",
};

/** How long a connection refused with a status stays half-closed, so the client can read it (as protocol/server-io.ts's LINGER_MS). */
const LINGER_MS = 1_000;

/**
 * An HTTP/1.1 request the parser refused, or whose headers took too long:
 * the status, then the connection closes. Not at once: a client still
 * sending (headers past the limit) would be reset, and a reset loses the
 * answer it has not read yet. The socket is half-closed and no longer
 * read, then destroyed after LINGER_MS.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // Nothing to say once a response began, or to a client that left.
  if (!socket.writable || socket.bytesWritten > 0 || err.code === "ECONNRESET") {
    socket.destroy();
    return;
  }
  const status = CLIENT_ERRORS[err.code ?? ""] ?? "400 Bad Request";
  const body = `${status.slice(4)}\n`;
  socket.end(
    `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
  );
  socket.pause();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
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
