import { type Http2Session, type ServerHttp2Stream, constants } from "node:http2";
import type { ConnectionLimits } from "../config/types.js";

/** How long a session told to go away (idle, calm down) may take to close before it is destroyed. */
const CLOSE_GRACE_MS = 1_000;

/**
 * What one HTTP/2 connection may do beyond what nghttp2 enforces itself:
 *
 * - **idle**: a connection that has opened no stream within
 *   requestHeadersTimeout (a client that sent the preface and stopped), or
 *   has had none open for idleTimeout, gets GOAWAY and is closed, as Envoy's
 *   idle_timeout does. Pings do not count: a client that only pings holds a
 *   descriptor for nothing.
 * - **rapid reset** (CVE-2023-44487): a stream the client resets before the
 *   gateway began its response is a premature reset. Once a connection has
 *   maxPrematureResets of them and they are at least half of its streams,
 *   it gets GOAWAY ENHANCE_YOUR_CALM and is closed: Envoy's rule, with its
 *   default of 500. nghttp2's own limit (a bucket of 1000 resets refilled
 *   at 33 a second) comes later and answers with a bare GOAWAY.
 *
 * `limits` is read when each event happens, so a reload's new values apply
 * to connections already open.
 */
export class SessionGuard {
  private open = 0;
  private closed = 0;
  private premature = 0;
  private timer: NodeJS.Timeout | undefined;
  private everOpened = false;
  private calmed = false;
  /** The last stream id the GOAWAY said was processed: later ones are refused, not routed. */
  private lastProcessed = Infinity;

  constructor(
    private readonly session: Http2Session,
    private readonly limits: () => ConnectionLimits,
  ) {
    this.arm();
    session.once("close", () => this.disarm());
  }

  /**
   * Every stream of the session, whoever answers it. false: the stream came
   * after the GOAWAY's last stream id (nghttp2 keeps taking streams until the
   * GOAWAY frame is actually written), and must be refused, not routed.
   */
  onStream(stream: ServerHttp2Stream): boolean {
    if ((stream.id ?? 0) > this.lastProcessed) return false;
    this.open++;
    this.everOpened = true;
    this.disarm();
    // `on`, not `once` (docs/DESIGN.md, "The hot path").
    stream.on("close", () => {
      this.open--;
      this.closed++;
      // Aborted: the stream closed with our side unfinished, a reset (the
      // client's, as the gateway resets only after answering); and before
      // the response began, as nothing can be sent after it.
      if (stream.aborted && !stream.headersSent) this.premature++;
      if (this.tooManyResets()) this.calm();
      else if (this.open === 0 && !this.calmed) this.arm();
    });
    return true;
  }

  /** Streams the client reset before their response began, so far. */
  get prematureResets(): number {
    return this.premature;
  }

  private tooManyResets(): boolean {
    const max = this.limits().maxPrematureResets;
    return max > 0 && this.premature >= max && this.premature * 2 >= this.closed;
  }

  /**
   * GOAWAY ENHANCE_YOUR_CALM: nghttp2 ignores the streams the client opens
   * after it. The connection is destroyed a moment later, not at once: a
   * client still sending would get a TCP reset, which can drop the GOAWAY
   * unread, and a reset client retries at once where a told one may not.
   */
  private calm(): void {
    this.disarm();
    const s = this.session;
    if (s.destroyed || this.calmed) return;
    this.calmed = true;
    this.lastProcessed = s.state.lastProcStreamID ?? Infinity;
    s.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, this.lastProcessed === Infinity ? undefined : this.lastProcessed);
    setTimeout(() => s.destroy(), CLOSE_GRACE_MS).unref();
  }

  private arm(): void {
    this.disarm();
    const l = this.limits();
    // Before its first stream a connection has had only the time to send its headers.
    const ms = this.everOpened ? l.idleTimeoutMs : l.requestHeadersTimeoutMs || l.idleTimeoutMs;
    if (ms <= 0 || this.session.destroyed) return;
    this.timer = setTimeout(() => this.goAway(), ms);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** GOAWAY (NO_ERROR): the client may open a new connection when it has something to send. */
  private goAway(): void {
    if (this.open > 0 || this.session.destroyed) return;
    const s = this.session;
    s.close();
    setTimeout(() => s.destroy(), CLOSE_GRACE_MS).unref();
  }
}
