import { gzipSync, gunzip, constants } from "node:zlib";
import { promisify } from "node:util";
import { Code, CallError } from "./status.js";
import { FLAG_COMPRESSED, encodeEnvelope } from "./envelope.js";

const gunzipAsync = promisify(gunzip);

export type Encoding = "identity" | "gzip";

/**
 * Messages smaller than this stay uncompressed (connect-es's default too):
 * responses to clients, and requests to a cluster with `compression: gzip`.
 * Below it gzip's header and the CPU buy next to nothing.
 */
export const COMPRESS_MIN_BYTES = 1024;

export function parseEncoding(name: string | undefined, header: string): Encoding {
  if (name === undefined || name === "" || name === "identity") return "identity";
  if (name === "gzip") return "gzip";
  throw new CallError(Code.UNIMPLEMENTED, `unsupported ${header} "${name}": the gateway accepts identity and gzip`);
}

/** Picks gzip when the peer lists it among the encodings it accepts. */
export function acceptsGzip(acceptHeader: string | string[] | undefined): boolean {
  if (!acceptHeader) return false;
  const v = Array.isArray(acceptHeader) ? acceptHeader.join(",") : acceptHeader;
  // Asked on every call: the common answers without splitting the header.
  if (v === "gzip") return true;
  if (!v.includes("gzip")) return false;
  return v.split(",").some((s) => s.trim().split(";")[0] === "gzip");
}

export async function decompress(data: Uint8Array, encoding: Encoding, maxBytes: number): Promise<Uint8Array> {
  if (encoding === "identity") return data;
  try {
    // maxOutputLength turns a decompression bomb into an error, not an OOM.
    return await gunzipAsync(data, { maxOutputLength: maxBytes + 1 }).then((out) => {
      if (out.byteLength > maxBytes) throw new RangeError("too large");
      return out;
    });
  } catch (err) {
    if (err instanceof RangeError || (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
      throw new CallError(
        Code.RESOURCE_EXHAUSTED,
        `decompressed message exceeds the limit of ${maxBytes} bytes (limits.maxMessageBytes)`,
      );
    }
    throw new CallError(Code.INTERNAL, `invalid gzip data: ${(err as Error).message}`);
  }
}

export function compress(data: Uint8Array, encoding: Encoding): Uint8Array {
  if (encoding === "identity") return data;
  return gzipSync(data, { level: constants.Z_BEST_SPEED });
}

/**
 * A request message for an upstream hop with `encoding`: gzipped when that
 * is worth it (at least COMPRESS_MIN_BYTES, and smaller once compressed),
 * otherwise undefined and the message goes as it is. Both are valid on every
 * protocol: the compressed flag (or Connect unary's content-encoding) is
 * per message.
 */
export function compressForUpstream(data: Uint8Array, encoding: Encoding): Uint8Array | undefined {
  if (encoding === "identity" || data.byteLength < COMPRESS_MIN_BYTES) return undefined;
  const z = gzipSync(data, { level: constants.Z_BEST_SPEED });
  return z.byteLength < data.byteLength ? z : undefined;
}

/** A request message enveloped for an upstream hop with `encoding`: flagged compressed when compressForUpstream gzipped it. */
export function upstreamEnvelope(data: Uint8Array, encoding: Encoding): Buffer {
  const z = compressForUpstream(data, encoding);
  return z ? encodeEnvelope(FLAG_COMPRESSED, z) : encodeEnvelope(0, data);
}
