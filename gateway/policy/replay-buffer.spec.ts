import { describe, expect, it } from "vitest";
import { ReplayBuffer } from "./replay-buffer.js";

const msg = (n: number) => new Uint8Array(n).fill(n);

async function* source(items: Uint8Array[], fail?: Error) {
  for (const i of items) {
    await new Promise((r) => setTimeout(r, 1));
    yield i;
  }
  if (fail) throw fail;
}

async function collect(it: AsyncIterable<Uint8Array>) {
  const out: number[] = [];
  for await (const m of it) out.push(m.byteLength);
  return out;
}

describe("ReplayBuffer", () => {
  it("gives every reader every message, pulling each from the source once", async () => {
    let pulls = 0;
    async function* counted() {
      for (const m of [msg(1), msg(2), msg(3)]) {
        pulls++;
        yield m;
      }
    }
    const b = new ReplayBuffer(counted(), 1024);
    const [a, c] = await Promise.all([collect(b.reader()), collect(b.reader())]);
    expect(a).toEqual([1, 2, 3]);
    expect(c).toEqual([1, 2, 3]);
    expect(await collect(b.reader())).toEqual([1, 2, 3]);
    expect(pulls).toBe(3);
    expect(b.replayable).toBe(true);
  });

  it("stops being replayable past maxBytes, while the leading reader goes on", async () => {
    const b = new ReplayBuffer(source([msg(4), msg(4), msg(4)]), 6);
    expect(await collect(b.reader())).toEqual([4, 4, 4]);
    expect(b.replayable).toBe(false);
    await expect(collect(b.reader())).rejects.toThrow(/maxReplayBytes/);
  });

  it("hands the source's error to every reader", async () => {
    const b = new ReplayBuffer(source([msg(1)], new Error("bad input")), 100);
    await expect(collect(b.reader())).rejects.toThrow("bad input");
    await expect(collect(b.reader())).rejects.toThrow("bad input");
  });
});
