import { afterEach, describe, expect, it, vi } from "vitest";
import { Attempt, HUNG_AFTER_MS, type AttemptInput } from "./attempt.js";
import { Cancel } from "../call/cancel.js";
import { Code } from "../call/status.js";
import { Endpoint } from "../cluster/endpoint.js";
import { OutlierDetector } from "../cluster/outlier.js";
import { UpstreamError, type HttpTransport } from "../transport/contract.js";
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
      if (!s.hung) return Promise.resolve({ status: 200, headers: { "content-type": "application/grpc" }, chunks: [], trailers: { "grpc-status": "0" } });
      return new Promise((_, reject) => req.cancel.on(() => reject(new UpstreamError(Code.CANCELLED, "cancelled", false))));
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
