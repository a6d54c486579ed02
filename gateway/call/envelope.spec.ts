import { describe, expect, it } from "vitest";
import { CallError } from "./status.js";
import { EnvelopeSplitter, encodeEnvelope, readEnvelopes } from "./envelope.js";

const msg = (text: string, flags = 0) => encodeEnvelope(flags, Buffer.from(text));

function splitAll(chunks: Buffer[], max = 1 << 20) {
  const s = new EnvelopeSplitter(max);
  const out = chunks.flatMap((c) =>
    s.push(c).map((e) => ({ flags: e.flags, data: Buffer.from(e.data).toString(), frame: Buffer.from(e.frame) })),
  );
  s.end();
  return out;
}

describe("EnvelopeSplitter", () => {
  const stream = Buffer.concat([msg("one"), msg(""), msg("three", 1), msg("x".repeat(70_000))]);

  it("splits whole envelopes in one chunk, and hands each one's bytes on as its frame", () => {
    const out = splitAll([stream]);
    expect(out.map((e) => [e.flags, e.data.length])).toEqual([
      [0, 3],
      [0, 0],
      [1, 5],
      [0, 70_000],
    ]);
    expect(Buffer.concat(out.map((e) => e.frame)).equals(stream)).toBe(true);
  });

  it("gives the same envelopes however the bytes are chunked (one byte at a time, 16 KiB frames, odd sizes)", () => {
    const whole = splitAll([stream]);
    for (const size of [1, 3, 5, 7, 16_384, 50_000]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      expect(splitAll(chunks)).toEqual(whole);
    }
  });

  it("refuses an envelope over the limit as soon as its length is known", () => {
    const s = new EnvelopeSplitter(10);
    expect(() => s.push(msg("x".repeat(11)).subarray(0, 5))).toThrow(/exceeds the limit of 10 bytes/);
  });

  it("reports a stream that ends inside an envelope", () => {
    const s = new EnvelopeSplitter(100);
    s.push(msg("hello").subarray(0, 7));
    expect(() => s.end()).toThrow(CallError);
    expect(() => s.end()).toThrow(/7 stray bytes/);
  });

  it("readEnvelopes gives the same over an async source", async () => {
    async function* src() {
      for (let i = 0; i < stream.length; i += 1000) yield stream.subarray(i, i + 1000);
    }
    const got: number[] = [];
    for await (const e of readEnvelopes(src(), 1 << 20)) got.push(e.data.byteLength);
    expect(got).toEqual([3, 0, 5, 70_000]);
  });
});
