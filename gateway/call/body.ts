import { Code, CallError } from "./status.js";

/** A whole body past the limit (readAll, readUnaryBody). */
export function bodyTooLarge(maxBytes: number): CallError {
  return new CallError(
    Code.RESOURCE_EXHAUSTED,
    `message exceeds the limit of ${maxBytes} bytes (limits.maxMessageBytes)`,
  );
}

/** Reads a whole (unary) body, refusing to buffer past the limit. */
export async function readAll(src: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of src) {
    n += c.byteLength;
    if (n > maxBytes) throw bodyTooLarge(maxBytes);
    parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/**
 * A unary call carries exactly one request message. Any other count is a
 * "cardinality violation", which gRPC's status code table maps to
 * UNIMPLEMENTED (and what gRPC and Connect servers answer).
 */
export async function singleMessage(messages: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  let one: Uint8Array | undefined;
  let count = 0;
  for await (const m of messages) {
    one = m;
    count++;
  }
  if (count !== 1 || one === undefined) {
    throw new CallError(Code.UNIMPLEMENTED, `a unary call takes exactly one request message, got ${count}`);
  }
  return one;
}
