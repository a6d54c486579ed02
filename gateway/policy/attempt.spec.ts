import { afterEach, describe, expect, it } from "vitest";
import { Attempt, type AttemptInput } from "./attempt.js";
import { Cancel } from "../call/cancel.js";
import { Deadline } from "../call/deadline.js";
import { Code } from "../call/status.js";
import { EndpointBreaker } from "../cluster/breaker.js";
import { UpstreamError, type HttpTransport } from "../transport/contract.js";
import type { Endpoint } from "../cluster/endpoint.js";

const breakers: EndpointBreaker[] = [];
afterEach(() => {
  for (const b of breakers.splice(0)) b.shutdown();
});

/** A transport that counts what reaches it and answers every call with UNAVAILABLE. */
function countingTransport() {
  const t = {
    reached: 0,
    request: () => Promise.reject(new Error("not used here")),
    exchange: () => {
      t.reached++;
      return Promise.reject(new UpstreamError(Code.UNAVAILABLE, "down", false));
    },
    close: async () => {},
  };
  return t;
}

function endpointWith(transport: HttpTransport): Endpoint {
  const breaker = new EndpointBreaker(
    { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 1, rollingWindowMs: 10_000, resetTimeoutMs: 60_000, maxInFlight: 100 },
    "endpoint under test",
  );
  breakers.push(breaker);
  return { label: "endpoint under test", transport, breaker, enter() {}, leave() {}, ewma: { observe() {} } } as unknown as Endpoint;
}

function unaryInput(): AttemptInput {
  return {
    protocol: "grpc",
    head: { path: "/acme.echo.v1.EchoService/Write", service: "acme.echo.v1.EchoService", method: "Write", kind: "unary", codec: "proto", metadata: {}, timeoutMs: undefined },
    messages: [{ data: new Uint8Array([10, 1, 120]) }],
    deadline: undefined,
    callCancel: new Cancel(),
    maxBytes: 1024,
    number: 1,
    retryable: () => false,
  };
}

describe("Attempt (unary lane)", () => {
  it("sends nothing upstream when the endpoint's breaker is open, and says the request never left", async () => {
    const transport = countingTransport();
    const ep = endpointWith(transport);
    const first = await new Attempt(ep, unaryInput()).lookahead;
    expect(first).toMatchObject({ kind: "failed", status: { code: Code.UNAVAILABLE } });
    expect(transport.reached).toBe(1);
    expect(ep.breaker.state).toBe("open");

    // A call that slipped past the balancer while the breaker opened: it
    // must not reach the endpoint, or a retry elsewhere (never left)
    // would run a non-idempotent method twice.
    const second = await new Attempt(ep, unaryInput()).lookahead;
    expect(second).toMatchObject({ kind: "failed", neverLeft: true, status: { code: Code.UNAVAILABLE } });
    expect(transport.reached).toBe(1);
  });
});

describe("Attempt against a wedged transport", () => {
  /** A transport whose exchanges never settle, whatever happens to the call: a session nghttp2 gave up on. */
  const wedged = { request: () => new Promise<never>(() => {}), exchange: () => new Promise<never>(() => {}), close: async () => {} } as HttpTransport;

  function tracked() {
    const left: Array<{ success: boolean; counts: boolean }> = [];
    const ep = endpointWith(wedged);
    ep.leave = (success: boolean, counts: boolean) => void left.push({ success, counts });
    return { ep, left };
  }

  it("ends at the call's deadline as DEADLINE_EXCEEDED, counted against the endpoint", async () => {
    const { ep, left } = tracked();
    const input = unaryInput();
    const deadline = Deadline.after(100)!;
    input.deadline = deadline;
    deadline.arm(() => input.callCancel.cancel());
    const t0 = performance.now();
    const la = await new Attempt(ep, input).lookahead;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(la).toMatchObject({ kind: "failed", status: { code: Code.DEADLINE_EXCEEDED } });
    expect(left).toEqual([{ success: false, counts: true }]);
  });

  it("ends at once when the client cancels, and the endpoint is not blamed", async () => {
    const { ep, left } = tracked();
    const input = unaryInput();
    const attempt = new Attempt(ep, input);
    setTimeout(() => input.callCancel.cancel(), 20);
    const la = await attempt.lookahead;
    expect(la).toMatchObject({ kind: "failed", status: { code: Code.CANCELLED } });
    expect(left).toEqual([{ success: true, counts: false }]);
  });
});
