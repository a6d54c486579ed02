import http2, { type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import net from "node:net";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import type { SecureClientSessionOptions } from "node:http2";
import { Code } from "../call/status.js";
import { streamChunks } from "../call/stream-chunks.js";
import { ResponseBody, pump } from "./h2-body.js";
import {
  type HttpTransport,
  type UpstreamHttpRequest,
  type UpstreamHttpResponse,
  type WholeHttpResponse,
  UpstreamError,
  bodyTooLarge,
  isConnectError,
  rstCodeToCode,
  watchConnect,
} from "./contract.js";

/** Node copies request options; one object serves every stream. */
const REQUEST_OPTIONS = { endStream: false };

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

// Node's defaults (64 KiB windows, 10 MiB session memory) throttle a proxy
// that multiplexes many calls on one connection.
const STREAM_WINDOW = 1 << 20;
const SESSION_WINDOW = 16 << 20;

export interface H2Options {
  /** "http://host:port" or "https://host:port" */
  origin: string;
  tls?: SecureClientSessionOptions;
  /** Name used in error messages, e.g. `cluster "echo" endpoint 127.0.0.1:50051`. */
  label: string;
  /** A new session must have the peer's SETTINGS by then (TCP, TLS and HTTP/2 handshake), or it is torn down. */
  connectTimeoutMs: number;
  /** A TCP connection to the endpoint could not be made (refused, unreachable, timed out). */
  onConnectFailure?: (err: Error) => void;
}

// Streams a session may carry before its peer's SETTINGS arrive (RFC 9113
// recommends servers allow at least 100).
const ASSUMED_MAX_STREAMS = 100;

interface Pooled {
  session: ClientHttp2Session;
  /** Streams open on it now. */
  active: number;
}

/**
 * Reused HTTP/2 sessions to one endpoint: calls share the first session with
 * room for another stream under the peer's SETTINGS_MAX_CONCURRENT_STREAMS,
 * and another session opens when all are full (as Envoy's pool does). With
 * a single session, calls past the peer's limit would wait inside nghttp2
 * for a free stream, which for long streams means forever. Sessions are
 * dropped after GOAWAY or close.
 */
export class H2Transport implements HttpTransport {
  private pool: Pooled[] = [];
  private closed = false;
  /** Why a session died; its streams only report a generic reset. */
  private readonly sessionErrors = new WeakMap<ClientHttp2Session, Error>();
  /**
   * Sessions whose peer's SETTINGS arrived: the handshake is done. 'connect'
   * comes before them, as soon as TCP (and TLS) is up; a request on a
   * session that never got this far cannot have been processed.
   */
  private readonly settingsKnown = new WeakSet<ClientHttp2Session>();
  private readonly goawayLastStream = new WeakMap<ClientHttp2Session, number>();

  /**
   * The :authority and :scheme every request carries, written by us rather
   * than filled in by Node's client: Node writes an IPv6 origin's authority
   * without brackets (`::1:50051`), which servers that parse it as a URL
   * reject, and filling them in cost its client about 0.7 µs per request
   * (a string sliced per call, a property added to a dictionary; issue
   * 10's profile). Otherwise as Node writes them: the TLS server name or
   * the host, and the port, default or not.
   */
  private readonly authority: string;
  private readonly scheme: string;

  constructor(private readonly opts: H2Options) {
    const url = new URL(opts.origin);
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    this.authority = `${opts.tls?.servername || url.hostname}:${port}`;
    this.scheme = url.protocol.slice(0, -1);
  }

  private getSession(): Pooled {
    for (const p of this.pool) {
      const s = p.session;
      if (s.closed || s.destroyed) continue;
      const max = this.settingsKnown.has(s)
        ? (s.remoteSettings.maxConcurrentStreams ?? ASSUMED_MAX_STREAMS)
        : ASSUMED_MAX_STREAMS;
      if (p.active < max) return p;
    }
    const session = http2.connect(this.opts.origin, {
      ...this.opts.tls,
      // Nagle would hold small gRPC frames back for delayed ACKs (~40 ms).
      createConnection: (url: URL) => this.connectSocket(url),
      settings: { initialWindowSize: STREAM_WINDOW, enablePush: false },
      maxSessionMemory: 64,
    });
    // A session error also fails its streams; the listener only keeps the
    // process alive, the streams report what went wrong.
    session.on("error", (err) => this.sessionErrors.set(session, err));
    session.on("goaway", (code, lastStreamID) => {
      this.forget(session);
      this.goawayLastStream.set(session, lastStreamID);
      if (code !== 0) this.sessionErrors.set(session, new Error(`upstream sent GOAWAY with HTTP/2 error code ${code}`));
    });
    // A peer that accepts the connection but never completes the handshake
    // (garbage for SETTINGS, or nothing) would hold every stream on the
    // session, unanswered, until each call's deadline.
    const ms = this.opts.connectTimeoutMs;
    const handshake = setTimeout(
      () => this.kill(session, new Error(`no HTTP/2 handshake within ${ms} ms (connectTimeout)`)),
      ms,
    );
    handshake.unref();
    session.on("close", () => {
      clearTimeout(handshake);
      this.forget(session);
    });
    session.once("remoteSettings", () => {
      clearTimeout(handshake);
      this.settingsKnown.add(session);
    });
    session.once("connect", () => {
      try {
        session.setLocalWindowSize(SESSION_WINDOW);
      } catch {
        // the session may already be going away
      }
    });
    session.unref();
    const pooled = { session, active: 0 };
    this.pool.push(pooled);
    return pooled;
  }

  private connectSocket(url: URL): Duplex {
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port);
    if (url.protocol === "https:") {
      const socket = tls.connect({
        ...this.opts.tls,
        host,
        port,
        ALPNProtocols: ["h2"],
        servername: this.opts.tls?.servername ?? (net.isIP(host) ? undefined : host),
      });
      return watchConnect(socket.setNoDelay(true), this.opts.onConnectFailure);
    }
    return watchConnect(net.connect({ host, port, noDelay: true }), this.opts.onConnectFailure);
  }

  /** Tears a session down for `why`, which its streams then report. */
  private kill(session: ClientHttp2Session, why: Error): void {
    if (session.destroyed) return;
    this.forget(session);
    this.sessionErrors.set(session, why);
    session.destroy(why);
  }

  /**
   * After we reset a stream, its close must follow once nghttp2 sends the
   * RST_STREAM. When it does not, the session itself is stuck: nghttp2 gave
   * up on it without telling Node (an upstream header block it could not
   * decode does that) and nothing queued on it will ever be sent. Tear it
   * down so later calls get a fresh connection instead of the same silence.
   */
  private watchReset(session: ClientHttp2Session, stream: ClientHttp2Stream): void {
    const ms = this.opts.connectTimeoutMs;
    const t = setTimeout(() => {
      if (!stream.destroyed)
        this.kill(session, new Error(`session stuck: a reset stream did not close within ${ms} ms`));
    }, ms);
    t.unref();
    stream.once("close", () => clearTimeout(t));
  }

  private forget(session: ClientHttp2Session): void {
    const i = this.pool.findIndex((p) => p.session === session);
    if (i >= 0) this.pool.splice(i, 1);
  }

  /** Sessions open now (for tests and stats). */
  get sessionCount(): number {
    return this.pool.length;
  }

  async request(req: UpstreamHttpRequest): Promise<UpstreamHttpResponse> {
    const { stream, fail, stop, trailers } = this.open(req);
    pump(req.body, stream).catch(() => stop());
    const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
      const onClose = () => reject(fail(new Error("stream closed before response headers")));
      stream.once("response", (h) => {
        stream.off("close", onClose);
        stream.off("error", onError);
        resolve(h);
      });
      const onError = (err: Error) => reject(fail(err));
      stream.once("error", onError);
      stream.once("close", onClose);
    });
    const body = new ResponseBody(streamChunks(stream), {
      failed: fail,
      stoppedEarly: stop,
      endProblem: () => this.endProblem(req, stream, fail),
    });
    return { status: Number(headers[":status"]), headers, body, trailers };
  }

  exchange(req: UpstreamHttpRequest & { body: Uint8Array }, maxBodyBytes: number): Promise<WholeHttpResponse> {
    return new Promise((resolve, reject) => {
      const { stream, fail, stop, trailers } = this.open(req, {
        cancelled: () => reject(new UpstreamError(Code.CANCELLED, `call to ${this.opts.label} cancelled`, false)),
        closed: () => {
          if (tooLarge) return reject(bodyTooLarge(this.opts.label, maxBodyBytes));
          if (!headers) return reject(fail(new Error("stream closed before response headers")));
          const problem = stream.readableEnded
            ? this.endProblem(req, stream, fail)
            : fail(new Error("stream closed before the response ended"));
          if (problem) return reject(problem);
          resolve({ status: Number(headers[":status"]), headers, chunks, trailers: trailers() });
        },
      });
      let headers: IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      // on, not once: each comes once, and once costs a wrapper per call.
      stream.on("response", (h) => (headers = h));
      stream.on("data", (chunk: Buffer) => {
        size += chunk.byteLength;
        if (size <= maxBodyBytes) chunks.push(chunk);
        else if (!tooLarge) {
          tooLarge = true;
          stop();
        }
      });
      stream.on("error", (err) => reject(fail(err)));
      stream.end(req.body);
    });
  }

  /**
   * A new stream on a pooled session, for the caller to send the body on;
   * `fail` maps what went wrong with it to the call's status, `stop` resets
   * it. `hooks.cancelled` runs when req.cancel fires, after the stop;
   * `hooks.closed` when the stream closes (one listener for the pool's
   * books and the caller's, docs/DESIGN.md, "The hot path").
   */
  private open(
    req: UpstreamHttpRequest,
    hooks?: { cancelled(): void; closed(): void },
  ): {
    stream: ClientHttp2Stream;
    fail: (err: unknown) => UpstreamError;
    stop: () => void;
    trailers: () => IncomingHttpHeaders;
  } {
    if (this.closed) throw new UpstreamError(Code.UNAVAILABLE, `${this.opts.label} is shut down`, true);
    if (req.cancel.cancelled)
      throw new UpstreamError(Code.CANCELLED, `call ended before it reached ${this.opts.label}`, true);
    const pooled = this.getSession();
    const session = pooled.session;
    let stream: ClientHttp2Stream;
    try {
      // Written out, not spread (docs/DESIGN.md, "The hot path").
      const head: OutgoingHttpHeaders = {
        ":method": req.method,
        ":path": req.path,
        ":authority": this.authority,
        ":scheme": this.scheme,
      };
      const headers = req.headers;
      for (const k in headers) head[k] = headers[k];
      stream = session.request(head, REQUEST_OPTIONS);
    } catch (err) {
      this.forget(session);
      throw new UpstreamError(Code.UNAVAILABLE, `${this.opts.label}: ${(err as Error).message}`, true);
    }
    pooled.active++;
    // Before anything else: trailers can arrive in the same read as the
    // response headers, before an await on those headers resumes.
    let trailers: IncomingHttpHeaders = {};
    stream.on("trailers", (t) => (trailers = t));
    const stop = () => {
      // A stream both sides have finished needs no RST_STREAM; sending one
      // anyway counts as an invalid frame at the peer, and Node servers drop
      // the whole session (GOAWAY INTERNAL_ERROR) after 1000 of them.
      if (!stream.closed && !(stream.readableEnded && stream.writableFinished)) {
        stream.close(NGHTTP2_CANCEL);
        this.watchReset(session, stream);
      }
    };
    const offCancel = req.cancel.on(
      hooks
        ? () => {
            stop();
            hooks.cancelled();
          }
        : stop,
    );
    stream.on("close", () => {
      pooled.active--;
      offCancel();
      hooks?.closed();
    });

    const label = this.opts.label;
    const fail = (err: unknown): UpstreamError => {
      const sessionError = this.sessionErrors.get(session);
      const lastStream = this.goawayLastStream.get(session);
      if (lastStream !== undefined && stream.id !== undefined && stream.id > lastStream) {
        // GOAWAY promises that streams above its last id were never processed.
        return new UpstreamError(Code.UNAVAILABLE, `${label} went away (GOAWAY) before this call started`, true);
      }
      if (!this.settingsKnown.has(session)) {
        // The connection never came up (no SETTINGS from the peer yet): the request cannot have been processed.
        return new UpstreamError(
          Code.UNAVAILABLE,
          `${label} unreachable: ${(sessionError ?? (err as Error)).message}`,
          true,
        );
      }
      if (sessionError) {
        return new UpstreamError(Code.UNAVAILABLE, `${label} connection failed: ${sessionError.message}`, false);
      }
      if (session.destroyed && !req.cancel.cancelled) {
        // Node resets every stream of a lost connection with CANCEL or
        // INTERNAL_ERROR locally; for the call that is the upstream going away.
        return new UpstreamError(Code.UNAVAILABLE, `${label}: connection lost`, false);
      }
      if (stream.rstCode !== undefined && stream.rstCode !== 0) {
        const neverLeft = stream.rstCode === NGHTTP2_REFUSED_STREAM;
        return new UpstreamError(
          rstCodeToCode(stream.rstCode),
          `${label} reset the stream (HTTP/2 error code ${stream.rstCode})`,
          neverLeft,
        );
      }
      const neverLeft = isConnectError(err) && stream.id === undefined;
      return new UpstreamError(Code.UNAVAILABLE, `${label} unreachable: ${(err as Error).message}`, neverLeft);
    };

    return { stream, fail, stop, trailers: () => trailers };
  }

  /** Cancelled by us, or a reset that ended the stream without an error event. */
  private endProblem(
    req: UpstreamHttpRequest,
    stream: ClientHttp2Stream,
    fail: (err: unknown) => UpstreamError,
  ): UpstreamError | undefined {
    if (req.cancel.cancelled) return new UpstreamError(Code.CANCELLED, `call to ${this.opts.label} cancelled`, false);
    if (stream.rstCode !== undefined && stream.rstCode !== 0) return fail(new Error("reset"));
    return undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    const sessions = this.pool.map((p) => p.session);
    this.pool = [];
    await Promise.all(sessions.map((s) => this.closeSession(s)));
  }

  private async closeSession(s: ClientHttp2Session): Promise<void> {
    if (!s.destroyed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          s.destroy();
          resolve();
        }, 1000);
        s.close(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
