import { gzipSync, gunzip, constants } from "node:zlib";
import { promisify } from "node:util";
import { Code, CallError } from "./status.js";

const gunzipAsync = promisify(gunzip);

export type Encoding = "identity" | "gzip";

/** Responses smaller than this stay uncompressed (connect-es's default too). */
export const COMPRESS_MIN_BYTES = 1024;

export function parseEncoding(name: string | undefined, header: string): Encoding {
  if (name === undefined || name === "" || name === "identity") return "identity";
  if (name === "gzip") return "gzip";
  throw new CallError(
    Code.UNIMPLEMENTED,
    `unsupported ${header} "${name}": the gateway accepts identity and gzip`,
  );
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

export async function decompress(
  data: Uint8Array,
  encoding: Encoding,
  maxBytes: number,
): Promise<Uint8Array> {
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
