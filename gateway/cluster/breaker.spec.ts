import { afterEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { CallError, Code } from "../call/status.js";
import type { CircuitBreakerConfig } from "../config/types.js";
import { EndpointBreaker, isTransportFailure } from "./breaker.js";
import { UpstreamError } from "../transport/contract.js";

const LABEL = 'cluster "echo" endpoint 127.0.0.1:50051';

function config(over: Partial<CircuitBreakerConfig> = {}): CircuitBreakerConfig {
  return {
    enabled: true,
    errorThresholdPercentage: 50,
    volumeThreshold: 4,
    rollingWindowMs: 10_000,
    resetTimeoutMs: 60,
    maxInFlight: 100,
    ...over,
  };
}

const breakers: EndpointBreaker[] = [];
function breaker(over: Partial<CircuitBreakerConfig> = {}): EndpointBreaker {
  const b = new EndpointBreaker(config(over), LABEL);
  breakers.push(b);
  return b;
}
afterEach(() => {
  for (const b of breakers.splice(0)) b.shutdown();
});

const never = () => false;

/** The breaker around `fn`, its value checked with `failed` (how every caller but the attempt's uses it). */
function run<T>(b: EndpointBreaker, fn: () => Promise<T>, failed: (v: T) => boolean): Promise<T> {
  return b.runChecked((check) => fn().then(check), failed, rethrow);
}

function rethrow(err: unknown): never {
  throw err;
}
const ok = () => Promise.resolve("ok");
const failWith = (code: Code) => () => Promise.reject(new UpstreamError(code, "boom", false));

async function outcome<T>(p: Promise<T>): Promise<T | Error> {
  try {
    return await p;
  } catch (err) {
    return err as Error;
  }
}

async function failTimes(b: EndpointBreaker, n: number, code = Code.UNAVAILABLE): Promise<void> {
  for (let i = 0; i < n; i++) await outcome(run(b, failWith(code), never));
}

describe("isTransportFailure", () => {
  it("is true only for the transport-level codes", () => {
    const yes = [Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.INTERNAL, Code.UNKNOWN, Code.RESOURCE_EXHAUSTED];
    for (let c = 0; c <= 16; c++) expect(isTransportFailure(c), Code[c]).toBe(yes.includes(c));
  });
});

describe("EndpointBreaker", () => {
  it("passes results and errors through while closed", async () => {
    const b = breaker();
    expect(await run(b, ok, never)).toBe("ok");
    const err = await outcome(run(b, failWith(Code.NOT_FOUND), never));
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).code).toBe(Code.NOT_FOUND);
    expect(b.state).toBe("closed");
  });

  it("opens after volumeThreshold transport failures and then rejects at once", async () => {
    const b = breaker();
    let opened = 0;
    b.on("open", () => opened++);
    await failTimes(b, 3);
    expect(b.state).toBe("closed");
    await failTimes(b, 1);
    expect(b.state).toBe("open");
    expect(opened).toBe(1);
    expect(b.allowsRequest()).toBe(false);

    let called = false;
    const err = await outcome(
      run(
        b,
        async () => {
          called = true;
          return "x";
        },
        never,
      ),
    );
    expect(called).toBe(false);
    expect(err).toBeInstanceOf(UpstreamError);
    expect((err as UpstreamError).code).toBe(Code.UNAVAILABLE);
    expect((err as UpstreamError).neverLeft).toBe(true);
    expect((err as Error).message).toMatch(
      /^cluster "echo" endpoint 127\.0\.0\.1:50051: circuit breaker is open \(4 of the last 4 calls failed/,
    );
  });

  it("opens at exactly the threshold percentage (opossum alone needs more)", async () => {
    const b = breaker({ volumeThreshold: 4, errorThresholdPercentage: 50 });
    await run(b, ok, never);
    await run(b, ok, never);
    await failTimes(b, 1);
    expect(b.state).toBe("closed");
    await failTimes(b, 1); // 2 of 4 = 50%
    expect(b.state).toBe("open");
  });

  it("stays closed below the threshold percentage", async () => {
    const b = breaker({ volumeThreshold: 4, errorThresholdPercentage: 50 });
    for (let i = 0; i < 6; i++) await run(b, ok, never);
    await failTimes(b, 3); // 3 of 9
    expect(b.state).toBe("closed");
  });

  it("counts application codes such as NOT_FOUND as successes", async () => {
    const b = breaker({ volumeThreshold: 2 });
    for (const code of [Code.NOT_FOUND, Code.INVALID_ARGUMENT, Code.PERMISSION_DENIED, Code.FAILED_PRECONDITION]) {
      await failTimes(b, 5, code);
    }
    expect(b.state).toBe("closed");
    // ... and they dilute the failure rate: 1 failure in 21 calls.
    await failTimes(b, 1);
    expect(b.state).toBe("closed");
  });

  it("counts every transport-level code, thrown as CallError too", async () => {
    for (const code of [
      Code.UNAVAILABLE,
      Code.DEADLINE_EXCEEDED,
      Code.INTERNAL,
      Code.UNKNOWN,
      Code.RESOURCE_EXHAUSTED,
    ]) {
      const b = breaker({ volumeThreshold: 2 });
      for (let i = 0; i < 2; i++) await outcome(run(b, () => Promise.reject(new CallError(code, "x")), never));
      expect(b.state, Code[code]).toBe("open");
    }
  });

  it("counts socket errors and unknown errors as failures", async () => {
    const b = breaker({ volumeThreshold: 2 });
    await outcome(
      run(b, () => Promise.reject(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })), never),
    );
    await outcome(run(b, () => Promise.reject(new Error("???")), never));
    expect(b.state).toBe("open");
  });

  it("counts resolved values that failed() flags, and still resolves with them", async () => {
    const b = breaker({ volumeThreshold: 2 });
    const trailersOnly = { type: "end", code: Code.UNAVAILABLE };
    const isFailure = (v: typeof trailersOnly) => isTransportFailure(v.code);
    expect(await run(b, () => Promise.resolve(trailersOnly), isFailure)).toBe(trailersOnly);
    expect(await run(b, () => Promise.resolve(trailersOnly), isFailure)).toBe(trailersOnly);
    expect(b.state).toBe("open");
  });

  it("does not count client cancellations as failures", async () => {
    const b = breaker({ volumeThreshold: 2 });
    for (let i = 0; i < 5; i++) {
      const err = await outcome(run(b, failWith(Code.CANCELLED), never));
      expect((err as UpstreamError).code).toBe(Code.CANCELLED);
      const abort = await outcome(run(b, () => Promise.reject(new DOMException("aborted", "AbortError")), never));
      expect((abort as Error).name).toBe("AbortError");
    }
    expect(b.state).toBe("closed");
  });

  it("half-opens after resetTimeout, lets exactly one probe through, closes when it succeeds", async () => {
    const b = breaker({ resetTimeoutMs: 60 });
    const events: string[] = [];
    b.on("open", () => events.push("open"));
    b.on("halfOpen", () => events.push("halfOpen"));
    b.on("close", () => events.push("close"));
    await failTimes(b, 4);
    expect(b.state).toBe("open");
    await sleep(100);
    expect(b.state).toBe("half-open");
    expect(b.allowsRequest()).toBe(true);
    expect(b.allowsRequest()).toBe(true); // a query, not a reservation

    let release!: (v: string) => void;
    const probe = run(b, () => new Promise<string>((r) => (release = r)), never);
    expect(b.allowsRequest()).toBe(false);
    const second = await outcome(run(b, ok, never));
    expect((second as UpstreamError).code).toBe(Code.UNAVAILABLE);
    expect((second as Error).message).toMatch(/half-open and its probe call is still in flight/);

    release("probe");
    expect(await probe).toBe("probe");
    expect(b.state).toBe("closed");
    expect(b.allowsRequest()).toBe(true);
    expect(events).toEqual(["open", "halfOpen", "close"]);
  });

  it("forgets the old failures once closed again", async () => {
    const b = breaker({ resetTimeoutMs: 50 });
    await failTimes(b, 4);
    await sleep(80);
    await run(b, ok, never);
    expect(b.state).toBe("closed");
    // Without the flush opossum would see 5 failures in 6 calls and re-open.
    await failTimes(b, 1);
    expect(b.state).toBe("closed");
  });

  it("re-opens when the probe fails", async () => {
    const b = breaker({ resetTimeoutMs: 50 });
    await failTimes(b, 4);
    await sleep(80);
    expect(b.state).toBe("half-open");
    await failTimes(b, 1);
    expect(b.state).toBe("open");
    const err = await outcome(run(b, ok, never));
    expect((err as Error).message).toMatch(
      /circuit breaker is open \(the half-open probe failed\); next probe in \d+ ms/,
    );
  });

  it("closes when the probe gets an application error: the upstream answered", async () => {
    const b = breaker({ resetTimeoutMs: 50 });
    await failTimes(b, 4);
    await sleep(80);
    await failTimes(b, 1, Code.NOT_FOUND);
    expect(b.state).toBe("closed");
  });

  it("re-opens rather than closes when the probe is cancelled by the client", async () => {
    const b = breaker({ resetTimeoutMs: 50 });
    await failTimes(b, 4);
    await sleep(80);
    await failTimes(b, 1, Code.CANCELLED);
    expect(b.state).toBe("open");
  });

  it("forgets failures that fall out of the rolling window", async () => {
    const b = breaker({ rollingWindowMs: 100, volumeThreshold: 4 });
    await failTimes(b, 3);
    // Well past the window: a busy event loop may skip rotation ticks.
    await sleep(300);
    await failTimes(b, 1);
    expect(b.state).toBe("closed");
  });

  it("only calls fn when disabled", async () => {
    const b = breaker({ enabled: false, volumeThreshold: 1 });
    await failTimes(b, 10);
    expect(b.state).toBe("closed");
    expect(b.allowsRequest()).toBe(true);
    expect(
      await run(
        b,
        () => Promise.resolve(1),
        () => true,
      ),
    ).toBe(1);
  });

  it("runChecked: the caller's check counts a resolved failure, and onError maps every rejection, its own included", async () => {
    const b = breaker({ volumeThreshold: 2 });
    const failed = (v: string) => v === "UNAVAILABLE";
    const asValue = (err: unknown) => `mapped ${(err as UpstreamError).code}`;
    // A failure value resolves as it is, and counts.
    for (let i = 0; i < 2; i++)
      expect(await b.runChecked((check) => Promise.resolve("UNAVAILABLE").then(check), failed, asValue)).toBe(
        "UNAVAILABLE",
      );
    expect(b.state).toBe("open");
    // The breaker's own refusal goes through onError too, without calling fn.
    let called = false;
    const refused = await b.runChecked(
      (check) => {
        called = true;
        return Promise.resolve("ok").then(check);
      },
      failed,
      asValue,
    );
    expect(called).toBe(false);
    expect(refused).toBe(`mapped ${Code.UNAVAILABLE}`);
    // Disabled, check passes values through and onError still maps.
    const off = breaker({ enabled: false });
    expect(await off.runChecked((check) => Promise.resolve("UNAVAILABLE").then(check), failed, asValue)).toBe(
      "UNAVAILABLE",
    );
    expect(
      await off.runChecked(() => Promise.reject(new UpstreamError(Code.INTERNAL, "x", false)), failed, asValue),
    ).toBe(`mapped ${Code.INTERNAL}`);
  });

  it("refuses calls after shutdown", async () => {
    const b = breaker();
    b.shutdown();
    expect(b.allowsRequest()).toBe(false);
    const err = await outcome(run(b, ok, never));
    expect((err as UpstreamError).code).toBe(Code.UNAVAILABLE);
    expect((err as UpstreamError).neverLeft).toBe(true);
  });
});
