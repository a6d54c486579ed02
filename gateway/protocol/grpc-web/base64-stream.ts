import { Code, CallError } from "../../call/status.js";

const VALID = /^[A-Za-z0-9+/=]*$/;

/**
 * Decodes application/grpc-web-text request bodies. Clients may pad at every
 * flush, so each 4-character group that ends in "=" closes a segment and the
 * next one starts fresh; chunks split anywhere.
 */
export async function* decodeBase64Stream(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  let pending = "";
  for await (const chunk of chunks) {
    const text =
      pending +
      Buffer.from(chunk)
        .toString("latin1")
        .replace(/[\r\n\t ]/g, "");
    if (!VALID.test(text))
      throw new CallError(Code.INVALID_ARGUMENT, "invalid base64 in application/grpc-web-text body");
    const n = text.length - (text.length % 4);
    pending = text.slice(n);
    if (n > 0) yield* decodeQuads(text.slice(0, n));
  }
  if (pending.length > 0) {
    throw new CallError(
      Code.INVALID_ARGUMENT,
      "invalid base64 in application/grpc-web-text body: length is not a multiple of 4",
    );
  }
}

function* decodeQuads(s: string): Generator<Buffer> {
  let start = 0;
  for (let i = s.indexOf("=", 0); i !== -1; i = s.indexOf("=", i + 1)) {
    const end = i - (i % 4) + 4;
    // "=" may appear only in the last two places of a quad.
    if (i % 4 < 2)
      throw new CallError(Code.INVALID_ARGUMENT, "invalid base64 padding in application/grpc-web-text body");
    if (end > start) {
      yield Buffer.from(s.slice(start, end), "base64");
      start = end;
    }
    i = end - 1;
  }
  if (start < s.length) yield Buffer.from(s.slice(start), "base64");
}
