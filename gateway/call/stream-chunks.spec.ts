import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { PrematureCloseError, streamChunks } from "./stream-chunks.js";

async function collect(it: AsyncIterable<Buffer>): Promise<string[]> {
  const out: string[] = [];
  for await (const c of it) out.push(c.toString());
  return out;
}

describe("streamChunks", () => {
  it("yields every chunk in order, then ends", async () => {
    expect(
      await collect(
        streamChunks(Readable.from([Buffer.from("a"), Buffer.from("b"), Buffer.from("c")], { objectMode: false })),
      ),
    ).toEqual(["a", "b", "c"]);
  });

  it("pauses the stream while the consumer is behind, and resumes when it catches up", async () => {
    const s = new PassThrough();
    const it = streamChunks(s);
    s.write("one");
    s.write("two");
    await new Promise((r) => setImmediate(r));
    expect(s.isPaused()).toBe(true);
    expect((await it.next()).value?.toString()).toBe("one");
    expect((await it.next()).value?.toString()).toBe("two");
    expect(s.isPaused()).toBe(false);
    s.end();
    expect((await it.next()).done).toBe(true);
  });

  it("hands over queued chunks before the stream's error", async () => {
    const s = new PassThrough();
    const it = streamChunks(s);
    s.write("kept");
    await new Promise((r) => setImmediate(r));
    s.destroy(new Error("boom"));
    expect((await it.next()).value?.toString()).toBe("kept");
    await expect(it.next()).rejects.toThrow("boom");
  });

  it("reports a stream that closes before its end as a premature close", async () => {
    const s = new PassThrough();
    const it = streamChunks(s);
    const pending = it.next();
    s.destroy();
    await expect(pending).rejects.toBeInstanceOf(PrematureCloseError);
  });

  it("leaves the stream open when the consumer stops early, and lets go of it", async () => {
    const s = new PassThrough();
    s.write("x");
    for await (const _ of streamChunks(s)) break;
    expect(s.destroyed).toBe(false);
    expect(s.listenerCount("data")).toBe(0);
    expect(s.listenerCount("close")).toBe(0);
  });

  it("ends at once on a stream that already ended", async () => {
    const s = new PassThrough();
    s.end();
    s.resume();
    await new Promise((r) => s.once("end", r));
    expect(await collect(streamChunks(s))).toEqual([]);
  });
});
