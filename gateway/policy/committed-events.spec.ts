import { describe, expect, it } from "vitest";
import { CommittedEvents, type CommittingAttempt } from "./committed-events.js";
import type { ResponseEvent } from "../call/call.js";
import { Code, CallError } from "../call/status.js";
import type { ResponseEvents } from "../protocol/contract.js";

const headers: ResponseEvent = { type: "headers", metadata: {} };
const message: ResponseEvent = { type: "message", data: new Uint8Array([1]) };
const ok: ResponseEvent = { type: "end", status: { code: Code.OK, message: "", details: [] }, trailers: {} };

/** An attempt that records what the events told it. */
function attempt(): CommittingAttempt & { told: string[] } {
  const told: string[] = [];
  return { told, ended: (code) => void told.push(`ended ${code}`), cancel: () => void told.push("cancel") };
}

/** Upstream events after the held ones, from a list, or failing with `err`. */
function upstream(list: ResponseEvent[], err?: Error): ResponseEvents {
  let i = 0;
  return {
    next: async () => {
      if (i < list.length) return { value: list[i++], done: false };
      if (err) throw err;
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

describe("CommittedEvents", () => {
  it("hands a whole answer out of ready() without an async step, tells the attempt its end once", () => {
    const a = attempt();
    let answered = 0;
    const ev = new CommittedEvents(a, upstream([]), [headers, message, ok], () => answered++);
    expect([ev.ready(), ev.ready(), ev.ready(), ev.ready()]).toEqual([headers, message, ok, undefined]);
    expect(answered).toBe(1);
    expect(a.told).toEqual([`ended ${Code.OK}`]);
  });

  it("reads past the held events from the upstream, and ends with the stream's end", async () => {
    const a = attempt();
    const ev = new CommittedEvents(a, upstream([message, ok]), [headers], () => {});
    expect(ev.ready()).toBe(headers);
    expect(ev.ready()).toBeUndefined();
    expect(await ev.next()).toEqual({ value: message, done: false });
    expect(await ev.next()).toEqual({ value: ok, done: false });
    expect((await ev.next()).done).toBe(true);
    expect(a.told).toEqual([`ended ${Code.OK}`]);
  });

  it("counts an OK without a message as the answer (what a hedge races to)", () => {
    let answered = 0;
    const ev = new CommittedEvents(attempt(), upstream([]), [headers, ok], () => answered++);
    ev.ready();
    expect(answered).toBe(0);
    ev.ready();
    expect(answered).toBe(1);
  });

  it("ends the attempt with the read's status when the upstream fails, and passes the error on", async () => {
    const a = attempt();
    const ev = new CommittedEvents(a, upstream([], new CallError(Code.UNAVAILABLE, "reset")), [headers], () => {});
    ev.ready();
    await expect(ev.next()).rejects.toMatchObject({ code: Code.UNAVAILABLE });
    expect(a.told).toEqual([`ended ${Code.UNAVAILABLE}`]);
    expect((await ev.next()).done).toBe(true);
  });

  it("cancels the attempt when the call lets go before the end, once, and not after it", async () => {
    const a = attempt();
    const ev = new CommittedEvents(a, upstream([message, ok]), [headers], () => {});
    await ev.return();
    await ev.return();
    expect(a.told).toEqual(["cancel"]);
    expect(ev.ready()).toBeUndefined();

    const b = attempt();
    const done = new CommittedEvents(b, upstream([]), [headers, message, ok], () => {});
    while (done.ready());
    await done.return();
    expect(b.told).toEqual([`ended ${Code.OK}`]);
  });
});
