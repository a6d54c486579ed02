import { describe, expect, it } from "vitest";
import { InFlight } from "./inflight.js";

describe("InFlight", () => {
  it("counts a call until every part of it has left, and wakes idle() waiters at zero", async () => {
    const f = new InFlight();
    await f.idle();
    const a = f.enter(2);
    const b = f.enter(1);
    expect(f.size).toBe(2);
    let idle = false;
    const waiting = f.idle().then(() => (idle = true));
    a();
    b();
    await Promise.resolve();
    expect(f.size).toBe(1);
    expect(idle).toBe(false);
    a();
    await waiting;
    expect(f.size).toBe(0);
    expect(idle).toBe(true);
  });

  it("does not count a part that leaves twice as another call leaving", () => {
    const f = new InFlight();
    const a = f.enter(1);
    f.enter(1);
    a();
    a();
    expect(f.size).toBe(1);
  });
});
