import { createHash } from "node:crypto";
import type { GatewayConfig, RateLimitConfig } from "../config/types.js";
import { matcher } from "../route/route-table.js";
import { Guard } from "./guard.js";
import { JwtProvider } from "./jwt-provider.js";
import { routeCheck } from "./route-auth.js";
import { type LimitRule, RateLimits } from "./rate-limit/rate-limits.js";
import { RedisBuckets } from "./rate-limit/redis-buckets.js";
import { SharedStore } from "./rate-limit/shared-store.js";
import { MemoryBuckets, type Buckets } from "./rate-limit/token-bucket.js";

/**
 * What the guard keeps across snapshots, as the cluster manager keeps
 * endpoints: JWT providers with their key caches, Redis connections, and
 * in-memory buckets. A reload reuses each one whose config did not change
 * (a provider's fetched keys, a bucket's count) and closes what no rule
 * uses any more.
 */
export class GuardState {
  private providers = new Map<string, JwtProvider>();
  private stores = new Map<string, SharedStore>();
  private buckets = new Map<string, Buckets>();

  constructor(private readonly log: (message: string) => void = () => {}) {}

  /** The guard of a snapshot of `config`. */
  apply(config: GatewayConfig): Guard {
    const providers = new Map<string, JwtProvider>();
    for (const [name, p] of config.auth?.jwtProviders ?? []) {
      const was = this.providers.get(name);
      providers.set(name, was && JSON.stringify(was.config) === JSON.stringify(p) ? was : new JwtProvider(p));
    }
    this.providers = providers;

    const stores = new Map<string, SharedStore>();
    const buckets = new Map<string, Buckets>();
    const rules: LimitRule[] = (config.rateLimits ?? []).map((r) => {
      const id = ruleId(r);
      let store: SharedStore | undefined;
      if (r.shared !== undefined) {
        store = stores.get(r.shared) ?? this.stores.get(r.shared) ?? new SharedStore(r.shared, this.log);
        if (!stores.has(r.shared)) store.failureModes = new Set();
        store.failureModes.add(r.onSharedFailure);
        stores.set(r.shared, store);
      }
      const b =
        buckets.get(id) ??
        this.buckets.get(id) ??
        (store
          ? new RedisBuckets(store, `switchyard:rl:${id}`, r.tokensPerSecond, r.burst)
          : new MemoryBuckets(r.tokensPerSecond, r.burst));
      buckets.set(id, b);
      return { test: matcher(r.match), key: r.key, buckets: b, onSharedFailure: r.onSharedFailure, store };
    });
    for (const [url, s] of this.stores) if (!stores.has(url)) s.close();
    this.stores = stores;
    this.buckets = buckets;

    const owned = new Set<string>();
    const checks = config.routes.map((route) => {
      const auth = route.auth;
      if (auth?.require === "jwt") for (const c of auth.claimsToHeaders) owned.add(c.header);
      if (auth?.require === "mtls") owned.add(auth.identityHeader);
      return routeCheck(auth, providers);
    });
    return new Guard(checks, rules.length > 0 ? new RateLimits(rules) : undefined, [...owned]);
  }

  /** Closes the Redis connections (the gateway is stopping). */
  close(): void {
    for (const s of this.stores.values()) s.close();
    this.stores.clear();
  }
}

/**
 * A rule's identity: what it counts and how fast, and where. Two gateway
 * processes with the same rule compute the same id, so they share its
 * Redis keys; a rule whose numbers change starts with full buckets.
 */
function ruleId(r: RateLimitConfig): string {
  const text = JSON.stringify([r.match, r.key, r.tokensPerSecond, r.burst, r.shared ?? null]);
  return createHash("sha256").update(text).digest("base64url").slice(0, 16);
}
