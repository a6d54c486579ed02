import { describe, expect, it } from "vitest";
import type { Status } from "../call/status.js";
import { FairShare } from "./fair-share.js";

describe("FairShare", () => {
  const shedLog: Array<[string, number]> = [];
  const call = (fair: FairShare, conn: object, name: string, capacity = 4) =>
    fair.admit("c", capacity, conn, (s: Status) => shedLog.push([name, s.code]));

  it("admits everything below capacity, whoever asks", () => {
    const fair = new FairShare();
    const a = {};
    for (let i = 0; i < 4; i++) expect(call(fair, a, `a${i}`).after).toBeUndefined();
    expect(fair.holders("c")).toEqual([4]);
  });

  it("at capacity, sheds the newest call of a heavier connection for a lighter one, and waits for it to end", async () => {
    shedLog.length = 0;
    const fair = new FairShare();
    const a = {};
    const b = {};
    const tickets = [0, 1, 2, 3].map((i) => call(fair, a, `a${i}`).ticket);
    const admitted = call(fair, b, "b0");
    expect(shedLog).toEqual([["a3", 8]]);
    expect(fair.holders("c")).toEqual([3, 1]);
    let went = false;
    void admitted.after!.then(() => (went = true));
    await Promise.resolve();
    expect(went).toBe(false);
    tickets[3]!.end();
    await admitted.after;
    expect(went).toBe(true);
    // Shed once more for b's second call (3 > 1 + 1), not for its third (2 > 2 + 1 is false).
    call(fair, b, "b1");
    expect(shedLog.map(([n]) => n)).toEqual(["a3", "a2"]);
    const third = call(fair, b, "b2");
    expect(third.after).toBeUndefined();
    expect(shedLog).toHaveLength(2);
    expect(fair.holders("c")).toEqual([3, 2]);
  });

  it("never sheds a connection's own calls for itself, and frees a place when a call ends", () => {
    shedLog.length = 0;
    const fair = new FairShare();
    const a = {};
    const t = [0, 1, 2, 3, 4].map((i) => call(fair, a, `a${i}`).ticket);
    expect(shedLog).toEqual([]);
    expect(fair.holders("c")).toEqual([5]);
    for (const x of t) x.end();
    t[0]!.end();
    expect(fair.holders("c")).toEqual([]);
  });
});
