import type { Codec } from "../../call/call.js";
import { Code, CallError } from "../../call/status.js";
import { parseEncoding, type Encoding } from "../../call/compression.js";

export interface GetQuery {
  codec: Codec;
  encoding: Encoding;
  message: Uint8Array;
}

/** Connect unary GET: ?connect=v1&encoding=json&base64=1&compression=gzip&message=… */
export function parseGetQuery(url: string): GetQuery {
  const q = new URLSearchParams(url.split("?")[1] ?? "");
  const connect = q.get("connect");
  if (connect !== null && connect !== "v1") {
    throw new CallError(Code.INVALID_ARGUMENT, `query parameter connect must be "v1", got "${connect}"`);
  }
  const enc = q.get("encoding");
  if (enc !== "proto" && enc !== "json") {
    throw new CallError(
      Code.INVALID_ARGUMENT,
      `query parameter encoding must be "proto" or "json", got ${enc === null ? "nothing" : `"${enc}"`}`,
    );
  }
  const encoding = parseEncoding(q.get("compression") ?? undefined, "compression");
  const raw = q.get("message") ?? "";
  let message: Uint8Array;
  if (q.get("base64") === "1") {
    // URLSearchParams reads "+" as a space; standard base64 may carry it unescaped.
    const b64 = raw.replace(/ /g, "+");
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64))
      throw new CallError(Code.INVALID_ARGUMENT, "query parameter message is not valid base64");
    message = Buffer.from(b64, "base64");
  } else {
    message = Buffer.from(raw, "utf8");
  }
  return { codec: enc, encoding, message };
}
