import { Code, CallError } from "./status.js";

/** Bit 0: the message is compressed with the call's encoding. */
export const FLAG_COMPRESSED = 0x01;
/** Connect streaming: the envelope is the JSON end-of-stream message. */
export const FLAG_CONNECT_END = 0x02;
/** gRPC-Web: the envelope carries the trailers. */
export const FLAG_GRPC_WEB_TRAILER = 0x80;

export interface Envelope {
  flags: number;
  data: Uint8Array;
  /** The whole envelope as received (prefix and data): forwarded as is when nothing about it changes. */
  frame: Buffer;
}

export function encodeEnvelope(flags: number, data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + data.byteLength);
  out[0] = flags;
  out.writeUInt32BE(data.byteLength, 1);
  out.set(data, 5);
  return out;
}

/**
 * Splits a byte stream into envelopes, chunk by chunk and synchronously, so
 * the envelopes of one chunk cost no promise each. HTTP/2 DATA frames and
 * HTTP/1.1 chunks do not align with messages, so bytes are joined only when
 * an envelope spans chunks; the common case (whole envelopes in one chunk)
 * slices without copying.
 */
export class EnvelopeSplitter {
  // Chunks not yet split, and their total size: an envelope that spans
  // chunks is joined once, when its last byte is here, not on every chunk
  // (a 64 KiB message in 16 KiB DATA frames would otherwise be copied 4 times).
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  /** The envelopes completed by `chunk`, in order. */
  push(chunk: Uint8Array): readonly Envelope[] {
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (c.byteLength === 0) return NONE;
    // A chunk that is exactly one envelope (a small call's DATA frame, most
    // often): the chunk is the frame, with no bookkeeping.
    if (this.size === 0 && c.byteLength >= 5 && c.readUInt32BE(1) === c.byteLength - 5) {
      this.checkSize(c.byteLength - 5);
      return [{ flags: c[0], data: c.subarray(5), frame: c }];
    }
    this.parts.push(c);
    this.size += c.byteLength;
    let out: Envelope[] | undefined;
    while (this.size >= 5) {
      if (this.parts[0].byteLength < 5) this.join(5);
      const head = this.parts[0];
      const len = head.readUInt32BE(1);
      this.checkSize(len);
      const total = 5 + len;
      if (this.size < total) break;
      if (head.byteLength < total) this.join(total);
      const first = this.parts[0];
      const frame = first.subarray(0, total);
      if (first.byteLength === total) this.parts.shift();
      else this.parts[0] = first.subarray(total);
      this.size -= total;
      (out ??= []).push({ flags: frame[0], data: frame.subarray(5), frame });
    }
    return out ?? NONE;
  }

  private checkSize(len: number): void {
    if (len > this.maxBytes) {
      throw new CallError(
        Code.RESOURCE_EXHAUSTED,
        `message of ${len} bytes exceeds the limit of ${this.maxBytes} bytes (limits.maxMessageBytes)`,
      );
    }
  }

  /** Makes parts[0] at least `n` bytes long (n <= size) with one copy. */
  private join(n: number): void {
    let have = 0;
    let k = 0;
    while (have < n) have += this.parts[k++].byteLength;
    const joined = Buffer.concat(this.parts.slice(0, k), have);
    this.parts.splice(0, k, joined);
  }

  /** Throws if the stream ended inside an envelope. */
  end(): void {
    if (this.size > 0) {
      throw new CallError(
        Code.INVALID_ARGUMENT,
        `protocol error: stream ended inside a message envelope (${this.size} stray bytes)`,
      );
    }
  }
}

const NONE: readonly Envelope[] = Object.freeze([]);

/** The envelopes of a byte stream (EnvelopeSplitter over an async source). */
export async function* readEnvelopes(chunks: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Envelope> {
  const split = new EnvelopeSplitter(maxBytes);
  for await (const chunk of chunks) yield* split.push(chunk);
  split.end();
}
