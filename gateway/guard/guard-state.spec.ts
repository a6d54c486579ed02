import { defaultLimits, defaultOverload } from "../config/limits.js";
import { describe, expect, it } from "vitest";
import type { CallHead } from "../call/call.js";
import { CallError, Code } from "../call/status.js";
import type { GatewayConfig, RateLimitConfig } from "../config/types.js";
import type { ServerRequest, ServerResponseLike } from "../protocol/contract.js";
import { GuardState } from "./guard-state.js";

function config(rateLimits: RateLimitConfig[], timeoutMs?: number): GatewayConfig {
  return {
    listeners: [],
    limits: { ...defaultLimits(), maxMessageBytes: 1024 },
    overload: defaultOverload(),
    drainTimeoutMs: 1000,
    descriptorSets: [],
    cors: { allowedOrigins: ["*"], allowCredentials: false },
    clusters: new Map(),
    routes: [{ match: { prefix: "/" }, cluster: "c", timeoutMs }],
    rateLimits,
  };
}

const rule: RateLimitConfig = {
  match: { prefix: "/" },
  key: { kind: "route" },
  tokensPerSecond: 0.001,
  burst: 2,
  onSharedFailure: "open",
};
const route = { cluster: "c", timeoutMs: undefined, index: 0, names: undefined };
const head = (): CallHead => ({
  path: "/a.S/M",
  service: "a.S",
  method: "M",
  kind: "unary",
  codec: "proto",
  metadata: {},
  timeoutMs: undefined,
});
const res = { setHeader: () => res } as unknown as ServerResponseLike;
const req = {} as ServerRequest;

function admitted(admit: () => unknown): boolean {
  try {
    expect(admit()).toBeUndefined(); // memory buckets: no promise
    return true;
  } catch (err) {
    expect((err as CallError).code).toBe(Code.RESOURCE_EXHAUSTED);
    return false;
  }
}

describe("GuardState", () => {
  it("keeps a rule's buckets across snapshots while the rule is unchanged", () => {
    const state = new GuardState();
    const a = state.apply(config([rule]));
    expect(admitted(() => a.admit(route, head(), req, res))).toBe(true);
    // A reload that changes something else: the count carries over.
    const b = state.apply(config([rule], 500));
    expect(admitted(() => b.admit(route, head(), req, res))).toBe(true);
    expect(admitted(() => b.admit(route, head(), req, res))).toBe(false);
    // A changed rule starts with full buckets.
    const c = state.apply(config([{ ...rule, burst: 3 }]));
    expect([1, 2, 3, 4].map(() => admitted(() => c.admit(route, head(), req, res)))).toEqual([true, true, true, false]);
  });

  it("asks for no promise and touches nothing when a snapshot has no auth and no limits", () => {
    const g = new GuardState().apply(config([]));
    const h = head();
    h.metadata["x-user-id"] = "kept";
    expect(g.admit(route, h, req, res)).toBeUndefined();
    expect(h.metadata).toEqual({ "x-user-id": "kept" });
  });
});
