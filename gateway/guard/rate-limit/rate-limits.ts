import { createHash } from "node:crypto";
import type { JWTPayload } from "jose";
import type { Metadata } from "../../call/metadata.js";
import type { RateLimitKey } from "../../config/types.js";
import type { ServerRequest, ServerResponseLike } from "../../protocol/contract.js";
import type { Route } from "../../route/route-table.js";
import { claimOf, claimText } from "../credentials.js";
import { peerAddress } from "../client-cert.js";
import { guardUnavailable, rateLimited } from "../refusal.js";
import type { SharedStore } from "./shared-store.js";
import type { Buckets } from "./token-bucket.js";

/** What a closed rule tells a client to wait while its store is away. */
const STORE_RETRY_MS = 1000;
/** Longer keys are hashed: a client picks them (a header), and memory or Redis should not hold them whole. */
const MAX_KEY_CHARS = 128;

/** One rateLimits entry, ready to count with. */
export interface LimitRule {
  test(path: string): boolean;
  key: RateLimitKey;
  buckets: Buckets;
  onSharedFailure: "open" | "closed";
  /** The Redis the buckets live in; undefined: this process's memory. */
  store?: SharedStore;
}

/** What a rule's key can be read from. */
export interface LimitedCall {
  route: Route;
  md: Metadata;
  req: ServerRequest;
  res: ServerResponseLike;
  claims: JWTPayload | undefined;
}

const NONE: readonly LimitRule[] = [];

/** The rate limit rules of a snapshot, and which apply to a path. */
export class RateLimits {
  private readonly byPath = new Map<string, readonly LimitRule[]>();

  constructor(private readonly rules: readonly LimitRule[]) {}

  forPath(path: string): readonly LimitRule[] {
    let hit = this.byPath.get(path);
    if (hit === undefined) {
      const found = this.rules.filter((r) => r.test(path));
      hit = found.length > 0 ? found : NONE;
      // Paths come from clients; cap what an attacker can make us remember (as the route table does).
      if (this.byPath.size < 10_000) this.byPath.set(path, hit);
    }
    return hit;
  }
}

/**
 * Takes a token from every rule, in order; throws RESOURCE_EXHAUSTED at the
 * first that has none (tokens taken from the rules before it stay taken, as
 * in Envoy). A rule whose key the call does not carry does not count it.
 * Synchronous while the buckets are in memory; a promise once one is in Redis.
 */
export function takeTokens(rules: readonly LimitRule[], call: LimitedCall, from = 0): Promise<void> | undefined {
  for (let i = from; i < rules.length; i++) {
    const rule = rules[i];
    const key = keyOf(rule.key, call);
    if (key === undefined) continue;
    let wait: number | Promise<number>;
    try {
      wait = rule.buckets.take(key);
    } catch (err) {
      storeFailed(rule, err, call.res);
      continue;
    }
    if (typeof wait !== "number") {
      return wait.then(
        (ms) => {
          rule.store?.reachable();
          if (ms > 0) throw rateLimited(call.res, ms);
          return takeTokens(rules, call, i + 1);
        },
        (err: unknown) => {
          storeFailed(rule, err, call.res);
          return takeTokens(rules, call, i + 1);
        },
      );
    }
    if (wait > 0) throw rateLimited(call.res, wait);
  }
  return undefined;
}

/** Open: the call goes on uncounted by this rule. Closed: it is refused. Either way the store logs the outage once. */
function storeFailed(rule: LimitRule, err: unknown, res: ServerResponseLike): void {
  rule.store?.failed(err);
  if (rule.onSharedFailure === "closed") throw guardUnavailable(res, STORE_RETRY_MS);
}

function keyOf(key: RateLimitKey, call: LimitedCall): string | undefined {
  let k: string | undefined;
  switch (key.kind) {
    case "route":
      return String(call.route.index);
    case "peer":
      k = peerAddress(call.req);
      break;
    case "header": {
      const v = call.md[key.name];
      k = Array.isArray(v) ? v.join(",") : v;
      break;
    }
    case "claim":
      k = call.claims && claimText(claimOf(call.claims, key.name));
      break;
  }
  if (k === undefined || k.length <= MAX_KEY_CHARS) return k;
  return `#${createHash("sha256").update(k).digest("base64url")}`;
}
