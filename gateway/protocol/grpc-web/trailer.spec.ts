import { describe, expect, it } from "vitest";
import { FLAG_GRPC_WEB_TRAILER } from "../../call/envelope.js";
import { encodeWebTrailers, parseWebTrailers } from "./trailer.js";

const payloadOf = (frame: Buffer) => frame.subarray(5);

describe("encodeWebTrailers", () => {
  it("makes one envelope flagged 0x80 whose payload is HTTP/1-style header lines", () => {
    const frame = encodeWebTrailers({ "grpc-status": "0", "grpc-message": "fine" });
    expect(frame[0]).toBe(FLAG_GRPC_WEB_TRAILER);
    expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
    expect(payloadOf(frame).toString()).toBe("grpc-status: 0\r\ngrpc-message: fine\r\n");
  });

  it("writes a repeated key once per value", () => {
    const frame = encodeWebTrailers({ "x-tag": ["a", "b"], "grpc-status": "0" });
    expect(payloadOf(frame).toString()).toBe("x-tag: a\r\nx-tag: b\r\ngrpc-status: 0\r\n");
  });

  it("makes an empty (but valid) trailer frame for no trailers", () => {
    expect([...encodeWebTrailers({})]).toEqual([0x80, 0, 0, 0, 0]);
  });
});

describe("parseWebTrailers", () => {
  it("round-trips what encodeWebTrailers wrote, repeated keys as arrays", () => {
    const md = { "grpc-status": "14", "grpc-message": "down%20for%20now", "x-tag": ["a", "b", "c"], "x-empty": "" };
    expect(parseWebTrailers(payloadOf(encodeWebTrailers(md)))).toEqual(md);
  });

  it("lower-cases keys, trims around values and keeps colons inside values", () => {
    const text = "Grpc-Status: 0\r\nX-Where:   http://host:8080/path  \r\nX-Case: MiXeD\r\n";
    expect(parseWebTrailers(Buffer.from(text))).toEqual({
      "grpc-status": "0",
      "x-where": "http://host:8080/path",
      "x-case": "MiXeD",
    });
  });

  it("merges keys that differ only in case into one repeated key", () => {
    expect(parseWebTrailers(Buffer.from("X-Tag: a\r\nx-tag: b\r\n"))).toEqual({ "x-tag": ["a", "b"] });
  });

  it("skips blank lines and lines without a key", () => {
    expect(parseWebTrailers(Buffer.from("\r\n: nameless\r\nnot a header\r\ngrpc-status: 5\r\n\r\n"))).toEqual({
      "grpc-status": "5",
    });
  });
});
