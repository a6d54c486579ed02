import { afterEach, describe, expect, it, vi } from "vitest";
import { Attempt, HUNG_AFTER_MS, type AttemptInput } from "./attempt.js";
import { Cancel } from "../call/cancel.js";
import { Deadline } from "../call/deadline.js";
import { Code } from "../call/status.js";
import { Endpoint } from "../cluster/endpoint.js";
import { OutlierDetector } from "../cluster/outlier.js";
import { UpstreamError, type HttpTransport, type UpstreamHttpRequest } from "../transport/contract.js";
import { clusterConfig, endpointAt } from "../../test/helpers/cluster-config.js";

const endpoints: Endpoint[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

/** A real endpoint (breaker, outlier state) whose transport is `transport`; its breaker opens on one failure. */
function endpointWith(transport: Partial<HttpTransport>): Endpoint {
  const config = clusterConfig([endpointAt(1)]);
  config.resilience.circuitBreaker.volumeThreshold = 1;
  config.resilience.circuitBreaker.resetTimeoutMs = 60_000;
  const outliers = new OutlierDetector(config.resilience.outlierDetection, () => []);
  const ep = new Endpoint(config, config.endpoints[0], outliers, () => {});
  Object.defineProperty(ep, "transport", { value: { close: async () => {}, ...transport } });
  endpoints.push(ep);
  return ep;
}

function unaryInput(): AttemptInput {
  return {
    protocol: "grpc",
    compression: "identity",
    head: {
      path: "/acme.echo.v1.EchoService/Write",
      service: "acme.echo.v1.EchoService",
      method: "Write",
      kind: "unary",
      codec: "proto",
      metadata: {},
      timeoutMs: undefined,
    },
    messages: [{ data: new Uint8Array([10, 1, 120]) }],
    deadline: undefined,
    callCancel: new Cancel(),
    maxBytes: 1024,
    number: 1,
    retryable: () => false,
    kind: "first",
    observed: undefined,
  };
}

describe("Attempt (unary lane)", () => {
  it("sends nothing upstream when the endpoint's breaker is open, and says the request never left", async () => {
    let reached = 0;
    const ep = endpointWith({
      exchange: () => {
        reached++;
        return Promise.reject(new UpstreamError(Code.UNAVAILABLE, "down", false));
      },
    });
    const first = await new Attempt(ep, unaryInput()).lookahead;
    expect(first).toMatchObject({ kind: "failed", status: { code: Code.UNAVAILABLE } });
    expect(reached).toBe(1);
    expect(ep.breaker.state).toBe("open");

    // A call that slipped past the balancer while the breaker opened: it
    // must not reach the endpoint, or a retry elsewhere (never left)
    // would run a non-idempotent method twice.
    const second = await new Attempt(ep, unaryInput()).lookahead;
    expect(second).toMatchObject({ kind: "failed", neverLeft: true, status: { code: Code.UNAVAILABLE } });
    expect(reached).toBe(1);
  });
});

describe("Attempt.abandon (a lost hedge race)", () => {
  /** Answers OK at once while `hung` is false; else holds the call until it is cancelled. */
  function switchable() {
    const s = { hung: true };
    const exchange = (req: { cancel: Cancel }) => {
      // One empty message: a unary OK without one is a protocol error.
      const chunks = [Buffer.from([0, 0, 0, 0, 0])];
      if (!s.hung)
        return Promise.resolve({
          status: 200,
          headers: { "content-type": "application/grpc" },
          chunks,
          trailers: { "grpc-status": "0" },
        });
      return new Promise((_, reject) =>
        req.cancel.on(() => reject(new UpstreamError(Code.CANCELLED, "cancelled", false))),
      );
    };
    return { s, ep: endpointWith({ exchange } as unknown as Partial<HttpTransport>) };
  }

  it("counts against the endpoint only once the endpoint has answered nothing for HUNG_AFTER_MS", async () => {
    vi.useFakeTimers({ toFake: ["performance"] });
    const { s, ep } = switchable();
    const lose = async () => {
      const a = new Attempt(ep, unaryInput());
      a.abandon();
      await a.lookahead;
    };

    // Slow this once, on an endpoint first used just now: not a failure.
    await lose();
    expect(ep.outlier.failures).toBe(0);
    // Silent since then for HUNG_AFTER_MS: it looks hung.
    vi.advanceTimersByTime(HUNG_AFTER_MS);
    await lose();
    expect(ep.outlier.failures).toBe(1);

    // It answers a call; a race lost half a second later is a slow call again.
    s.hung = false;
    expect(await new Attempt(ep, unaryInput()).lookahead).toMatchObject({ kind: "commit" });
    s.hung = true;
    vi.advanceTimersByTime(HUNG_AFTER_MS / 2);
    await lose();
    expect(ep.outlier.failures).toBe(1);
    vi.advanceTimersByTime(HUNG_AFTER_MS / 2);
    await lose();
    expect(ep.outlier.failures).toBe(2);
  });
});

describe("Attempt against a wedged transport", () => {
  /**
   * A session nghttp2 gave up on: a streamed request never settles,
   * whatever happens to the call; an exchange settles only when its cancel
   * fires, as HttpTransport.exchange promises.
   */
  const wedged = {
    request: () => new Promise<never>(() => {}),
    exchange: (req: UpstreamHttpRequest) =>
      new Promise<never>((_, reject) =>
        req.cancel.on(() => reject(new UpstreamError(Code.CANCELLED, "cancelled", false))),
      ),
    close: async () => {},
  } as HttpTransport;

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

  it("ends a streamed attempt at the call's deadline too, though its read never settles", async () => {
    const { ep, left } = tracked();
    const input = unaryInput();
    input.messages = (async function* () {
      yield new Uint8Array([10, 1, 120]);
    })();
    const deadline = Deadline.after(100)!;
    input.deadline = deadline;
    deadline.arm(() => input.callCancel.cancel());
    const la = await new Attempt(ep, input).lookahead;
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
