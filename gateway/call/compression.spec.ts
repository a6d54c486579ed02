import { describe, expect, it } from "vitest";
import { acceptsGzip, parseEncoding } from "./compression.js";

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
    expect(() => parseEncoding("snappy", "grpc-encoding")).toThrow(/unsupported grpc-encoding "snappy".*identity and gzip/);
  });
});
