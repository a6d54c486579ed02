import type { ResponseSink } from "../call/call.js";
import type { Status } from "../call/status.js";
import { FLAG_COMPRESSED, encodeEnvelope } from "../call/envelope.js";
import { COMPRESS_MIN_BYTES, compress } from "../call/compression.js";
import { type Metadata, copyMetadata } from "../call/metadata.js";
import type { ServerResponseLike } from "./contract.js";
import { writeWithBackpressure } from "./server-io.js";

/** How one enveloped protocol (gRPC, gRPC-Web, Connect streaming) frames its response. */
export interface SinkFraming {
  contentType: string;
  /** Headers every response carries: what the gateway accepts, for one. */
  fixedHeaders: Metadata;
  /** The header that names the response compression; undefined: responses are never compressed. */
  encodingHeader: string | undefined;
  /** Set when the client accepts gzip (and encodingHeader is set). */
  gzip: boolean;
  /** gRPC-Web text: every frame base64 on its own, so nothing is written as received. */
  text: boolean;
}

/**
 * The shared skeleton of the enveloped response sinks: headers once, then
 * length-prefixed messages (gzipped past COMPRESS_MIN_BYTES when the client
 * accepts it, otherwise the upstream's own envelope as received), then the
 * protocol's own ending, which each subclass writes.
 */
export abstract class EnvelopedSink implements ResponseSink {
  /** Response headers went out (or are about to). */
  protected sent = false;

  constructor(
    protected readonly res: ServerResponseLike,
    protected readonly framing: SinkFraming,
  ) {}

  headers(md: Metadata): void {
    this.sent = true;
    if (this.res.headersSent || this.res.destroyed) return;
    this.res.writeHead(200, this.responseHeaders(md));
  }

  /** `md` with the content type, the fixed headers and the compression header. */
  protected responseHeaders(md: Metadata): Metadata {
    const f = this.framing;
    const h = copyMetadata(md);
    for (const k in f.fixedHeaders) h[k] = f.fixedHeaders[k];
    h["content-type"] = f.contentType;
    if (f.gzip && f.encodingHeader) h[f.encodingHeader] = "gzip";
    return h;
  }

  message(data: Uint8Array, frame?: Uint8Array): Promise<void> | void {
    if (!this.sent) this.headers({});
    if (frame && !this.framing.text && !this.compresses(data)) return writeWithBackpressure(this.res, frame);
    return writeWithBackpressure(this.res, this.envelope(0, data));
  }

  abstract end(status: Status, trailers: Metadata): void;

  /** One envelope as the client reads it: compressed when worth it, base64 in text mode. */
  protected envelope(flags: number, data: Uint8Array): Buffer {
    const z = this.compresses(data);
    const env = encodeEnvelope(z ? flags | FLAG_COMPRESSED : flags, z ? compress(data, "gzip") : data);
    return this.framing.text ? Buffer.from(env.toString("base64")) : env;
  }

  private compresses(data: Uint8Array): boolean {
    return this.framing.gzip && data.byteLength >= COMPRESS_MIN_BYTES;
  }

  /** Nothing more can be written: the client went away or the response ended. */
  protected get over(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }
}
