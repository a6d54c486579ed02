import { describe, expect, it } from "vitest";
import { mapIterable } from "./iterables.js";

async function* from<T>(items: T[], failAt?: number): AsyncGenerator<T> {
  for (let i = 0; i < items.length; i++) {
    if (i === failAt) throw new Error(`failed at ${i}`);
    yield items[i];
  }
}

describe("mapIterable", () => {
  it("maps every value in order", async () => {
    const out: number[] = [];
    for await (const v of mapIterable(from([1, 2, 3]), (n) => n * 10)) out.push(v);
    expect(out).toEqual([10, 20, 30]);
  });

  it("tells onError about a failing source, then rethrows", async () => {
    const seen: string[] = [];
    const it = mapIterable(
      from([1, 2], 1),
      (n) => n,
      (e) => seen.push((e as Error).message),
    );
    await expect(
      (async () => {
        for await (const _ of it);
      })(),
    ).rejects.toThrow("failed at 1");
    expect(seen).toEqual(["failed at 1"]);
  });

  it("tells onError about a failing map function", async () => {
    const seen: unknown[] = [];
    const it = mapIterable(
      from([1]),
      () => {
        throw new Error("bad value");
      },
      (e) => seen.push(e),
    );
    await expect(it.next()).rejects.toThrow("bad value");
    expect(seen).toHaveLength(1);
  });

  it("closes the source when the consumer stops early", async () => {
    let closed = false;
    async function* src() {
      try {
        yield 1;
        yield 2;
      } finally {
        closed = true;
      }
    }
    for await (const _ of mapIterable(src(), (n) => n)) break;
    expect(closed).toBe(true);
  });
});
