import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { drained } from "./drain.js";

describe("drained", () => {
  it("resolves on drain and leaves no listener behind, however often it waits", async () => {
    const s = new PassThrough({ highWaterMark: 1 });
    for (let i = 0; i < 20; i++) {
      expect(s.write("xx")).toBe(false);
      const wait = drained(s);
      s.read();
      await wait;
    }
    expect(s.listenerCount("drain")).toBe(0);
    expect(s.listenerCount("close")).toBe(0);
    expect(s.listenerCount("error")).toBe(0);
  });

  it("resolves when the stream closes instead", async () => {
    const s = new PassThrough({ highWaterMark: 1 });
    s.on("error", () => {});
    s.write("xx");
    const wait = drained(s);
    s.destroy(new Error("gone"));
    await wait;
    expect(s.listenerCount("drain")).toBe(0);
  });
});
