import { describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { gunzipSync } from "node:zlib";
import {
  COMPRESS_MIN_BYTES,
  acceptsGzip,
  compressForUpstream,
  parseEncoding,
  upstreamEnvelope,
} from "./compression.js";

describe("acceptsGzip", () => {
  it("finds gzip among the accepted encodings, in any of the forms clients send", () => {
    expect(acceptsGzip("gzip")).toBe(true);
    expect(acceptsGzip("identity,deflate,gzip")).toBe(true);
    expect(acceptsGzip("br, gzip;q=0.5")).toBe(true);
    expect(acceptsGzip(["deflate", "gzip"])).toBe(true);
  });

  it("does not take a name that merely contains gzip, or no header, for gzip", () => {
    expect(acceptsGzip("x-gzip-ish, identity")).toBe(false);
    expect(acceptsGzip("identity")).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip("")).toBe(false);
  });
});

describe("parseEncoding", () => {
  it("knows identity and gzip, and names what it accepts otherwise", () => {
    expect(parseEncoding(undefined, "grpc-encoding")).toBe("identity");
    expect(parseEncoding("gzip", "grpc-encoding")).toBe("gzip");
    expect(() => parseEncoding("snappy", "grpc-encoding")).toThrow(
      /unsupported grpc-encoding "snappy".*identity and gzip/,
    );
  });
});

describe("compressForUpstream", () => {
  const text = (n: number) => new TextEncoder().encode("a".repeat(n));

  it("gzips a message of at least COMPRESS_MIN_BYTES for a gzip hop, and nothing for identity", () => {
    const z = compressForUpstream(text(COMPRESS_MIN_BYTES), "gzip");
    expect(z && gunzipSync(z).byteLength).toBe(COMPRESS_MIN_BYTES);
    expect(compressForUpstream(text(COMPRESS_MIN_BYTES), "identity")).toBeUndefined();
  });

  it("leaves small messages, and ones gzip would not shrink, as they are", () => {
    expect(compressForUpstream(text(COMPRESS_MIN_BYTES - 1), "gzip")).toBeUndefined();
    expect(compressForUpstream(randomBytes(4096), "gzip")).toBeUndefined();
  });

  it("envelopes with the compressed flag exactly when it compressed", () => {
    expect(upstreamEnvelope(text(2000), "gzip")[0]).toBe(1);
    expect([...upstreamEnvelope(text(10), "gzip")]).toEqual([0, 0, 0, 0, 10, ...text(10)]);
  });
});
