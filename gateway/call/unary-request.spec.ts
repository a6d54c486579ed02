import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { readUnaryBody, readUnaryEnvelope } from "./unary-request.js";
import { encodeEnvelope } from "./envelope.js";
import { Cancel } from "./cancel.js";
import { Code } from "./status.js";

const msg = (s: string) => encodeEnvelope(0, Buffer.from(s));

describe("readUnaryEnvelope", () => {
  it("reads one envelope across chunks, keeping the frame as received", async () => {
    const s = new PassThrough();
    const p = readUnaryEnvelope(s, 100, new Cancel());
    const frame = msg("hello");
    s.write(frame.subarray(0, 3));
    s.end(frame.subarray(3));
    const env = await p;
    expect(Buffer.from(env!.data).toString()).toBe("hello");
    expect(Buffer.compare(env!.frame, frame)).toBe(0);
  });

  it("lets go of the stream once read: no listener of its own is left on it", async () => {
    // Left on, they would hold the read for as long as the stream lives (docs/DESIGN.md, "The hot path").
    const s = new PassThrough();
    const before = ["data", "end", "error", "close"].map((e) => s.listenerCount(e));
    const p = readUnaryEnvelope(s, 100, new Cancel());
    s.end(msg("hi"));
    await p;
    expect(["data", "end", "error", "close"].map((e) => s.listenerCount(e))).toEqual(before);
  });

  it("gives undefined for an empty body", async () => {
    const s = new PassThrough();
    const p = readUnaryEnvelope(s, 100, new Cancel());
    s.end();
    expect(await p).toBeUndefined();
  });

  it("refuses a second message with UNIMPLEMENTED and a body ending inside an envelope with INVALID_ARGUMENT", async () => {
    const two = new PassThrough();
    const p2 = readUnaryEnvelope(two, 100, new Cancel());
    two.end(Buffer.concat([msg("a"), msg("b")]));
    await expect(p2).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });
    const cut = new PassThrough();
    const pc = readUnaryEnvelope(cut, 100, new Cancel());
    cut.end(msg("abc").subarray(0, 6));
    await expect(pc).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
  });

  it("fails at the prefix of a message over the limit, before its bytes arrive", async () => {
    const s = new PassThrough();
    const p = readUnaryEnvelope(s, 4, new Cancel());
    s.write(msg("too long").subarray(0, 5));
    await expect(p).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
  });

  it("stops with CANCELLED when the call is cancelled, and leaves the stream to its owner", async () => {
    const s = new PassThrough();
    const cancel = new Cancel();
    const p = readUnaryEnvelope(s, 100, cancel);
    s.write(msg("x").subarray(0, 2));
    cancel.cancel();
    await expect(p).rejects.toMatchObject({ code: Code.CANCELLED });
    expect(s.destroyed).toBe(false);
    expect(s.listenerCount("data")).toBe(0);
  });

  it("fails when the stream closes before its end", async () => {
    const s = new PassThrough();
    const p = readUnaryEnvelope(s, 100, new Cancel());
    s.destroy();
    await expect(p).rejects.toThrow(/Premature close/);
  });
});

describe("readUnaryBody", () => {
  it("reads a body across chunks, and an empty one as empty", async () => {
    const s = new PassThrough();
    const p = readUnaryBody(s, 100, new Cancel());
    s.write(Buffer.from("hel"));
    s.end(Buffer.from("lo"));
    expect(Buffer.from(await p).toString()).toBe("hello");
    const e = new PassThrough();
    const pe = readUnaryBody(e, 100, new Cancel());
    e.end();
    expect((await pe).byteLength).toBe(0);
  });

  it("fails with RESOURCE_EXHAUSTED as soon as the body passes the limit, and lets go of the stream", async () => {
    const s = new PassThrough();
    const p = readUnaryBody(s, 4, new Cancel());
    s.write(Buffer.from("12345"));
    await expect(p).rejects.toMatchObject({ code: Code.RESOURCE_EXHAUSTED });
    expect(s.listenerCount("data")).toBe(0);
  });

  it("stops with CANCELLED when the call is cancelled", async () => {
    const s = new PassThrough();
    const cancel = new Cancel();
    const p = readUnaryBody(s, 100, cancel);
    s.write(Buffer.from("x"));
    cancel.cancel();
    await expect(p).rejects.toMatchObject({ code: Code.CANCELLED });
  });
});
