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
  private buf: Buffer = EMPTY;

  constructor(private readonly maxBytes: number) {}

  /** The envelopes completed by `chunk`, in order. */
  push(chunk: Uint8Array): Envelope[] {
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let buf = this.buf.byteLength === 0 ? c : Buffer.concat([this.buf, c]);
    const out: Envelope[] = [];
    while (buf.byteLength >= 5) {
      const len = buf.readUInt32BE(1);
      if (len > this.maxBytes) {
        throw new CallError(
          Code.RESOURCE_EXHAUSTED,
          `message of ${len} bytes exceeds the limit of ${this.maxBytes} bytes (limits.maxMessageBytes)`,
        );
      }
      if (buf.byteLength < 5 + len) break;
      out.push({ flags: buf[0], data: buf.subarray(5, 5 + len), frame: buf.subarray(0, 5 + len) });
      buf = buf.subarray(5 + len);
    }
    this.buf = buf;
    return out;
  }

  /** Throws if the stream ended inside an envelope. */
  end(): void {
    if (this.buf.byteLength > 0) {
      throw new CallError(
        Code.INVALID_ARGUMENT,
        `protocol error: stream ended inside a message envelope (${this.buf.byteLength} stray bytes)`,
      );
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** The envelopes of a byte stream (EnvelopeSplitter over an async source). */
export async function* readEnvelopes(chunks: AsyncIterable<Uint8Array>, maxBytes: number): AsyncGenerator<Envelope> {
  const split = new EnvelopeSplitter(maxBytes);
  for await (const chunk of chunks) yield* split.push(chunk);
  split.end();
}
