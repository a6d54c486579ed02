import type { CallHead } from "../call/call.js";
import { firstValue } from "../call/metadata.js";
import { type ClusterConfig, type HashBalancerKind, isHashBalancer, type UpstreamProtocol } from "../config/types.js";
import type { Endpoint } from "./endpoint.js";
import type { EndpointSet } from "./endpoint-set.js";
import { fmix32, type HashTable, murmur3 } from "./balancer/hash.js";
import { Maglev } from "./balancer/maglev.js";
import { pickerFor, type Pick } from "./balancer/pick.js";
import { chooseLevel, levelHealth, priorityLoad } from "./balancer/priority-load.js";
import { RingHash } from "./balancer/ring-hash.js";

/** One priority level of an endpoint list, and its consistent-hash table when the balancer hashes. */
interface Level {
  priority: number;
  endpoints: Endpoint[];
  table: HashTable<Endpoint> | undefined;
}

/**
 * A named group of endpoints that speak one protocol, as one config
 * snapshot sees it: its settings are fixed, its endpoint set (shared with
 * the snapshots before and after it) changes underneath.
 *
 * A call goes to a priority level first (Envoy's arithmetic,
 * balancer/priority-load.ts), then to an endpoint within the level by the
 * cluster's balancer.
 */
export class Cluster {
  readonly name: string;
  readonly protocol: UpstreamProtocol;
  private readonly picker: Pick;
  private readonly hashKind: HashBalancerKind | undefined;
  private readonly hashHeader: string | undefined;
  private readonly factor: number;
  /** The levels of the last endpoint list seen; EndpointSet replaces its list on every change, never mutates it. */
  private cached: { list: readonly Endpoint[]; levels: Level[] } | undefined;
  private capacityOf: { list: readonly Endpoint[]; capacity: number } | undefined;

  constructor(
    readonly config: ClusterConfig,
    readonly endpoints: EndpointSet,
    private readonly random: () => number = Math.random,
  ) {
    this.name = config.name;
    this.protocol = config.protocol;
    const r = config.resilience;
    this.picker = pickerFor(r.balancer, random);
    this.hashKind = isHashBalancer(r.balancer) ? r.balancer : undefined;
    this.hashHeader = this.hashKind ? r.hashOn?.header : undefined;
    this.factor = r.overprovisioningFactor;
  }

  /** Attempts its endpoints take at once, together (each one's maxInFlight): what downstream clients share. */
  capacity(): number {
    const list = this.endpoints.list;
    if (this.capacityOf?.list !== list) {
      let capacity = 0;
      for (const e of list) capacity += e.maxInFlight;
      this.capacityOf = { list, capacity };
    }
    return this.capacityOf.capacity;
  }

  /** The call's key hashed, for ring_hash and maglev; undefined without a key (then the call goes anywhere). */
  callHash(head: CallHead): number | undefined {
    if (this.hashHeader === undefined) return undefined;
    const key = firstValue(head.metadata[this.hashHeader]);
    return key ? murmur3(key) : undefined;
  }

  /**
   * An endpoint able to take a call, preferring ones this call has not tried
   * yet; undefined when every endpoint is out. `hash` is callHash()'s.
   */
  pick(tried?: ReadonlySet<Endpoint>, hash?: number): Endpoint | undefined {
    return this.choose(tried, false, hash);
  }

  /**
   * An endpoint this call has not tried that could take it now (for hedges,
   * which must go elsewhere); with a hash, the next distinct one on the ring.
   */
  pickUntried(tried: ReadonlySet<Endpoint>, hash?: number): Endpoint | undefined {
    return this.choose(tried, true, hash);
  }

  /**
   * The level comes from the levels' health (healthy = passing health
   * checks, not ejected, breaker not open): with a key, by the key's hash so
   * a caller stays on one level; else at random. When that level has no
   * endpoint that can take the call now (busy, or all tried by this call),
   * the others are asked in priority order. Only then may a retry go back to
   * an endpoint it tried.
   *
   * When no endpoint anywhere is healthy but ejection is all that keeps some
   * out, ejection is ignored (Envoy's panic routing, kept from before rather
   * than Envoy's 50% panic threshold): an ejection is a statistical guess,
   * and with one or two endpoints a run of application errors must not take
   * the whole cluster down, while a partly ejected level is better served by
   * spilling to the next level than by panicking. Failed health checks, open
   * breakers and draining are facts and still exclude.
   */
  private choose(
    tried: ReadonlySet<Endpoint> | undefined,
    untriedOnly: boolean,
    hash: number | undefined,
  ): Endpoint | undefined {
    const levels = this.levels();
    if (levels.length === 0) return undefined;
    let panic: boolean;
    let first = 0;
    if (levels.length === 1) {
      // One level takes every call: health only decides panic (the common case, kept cheap).
      panic = !levels[0]!.endpoints.some((e) => e.isHealthy());
    } else {
      let health = this.health(levels, false);
      panic = health.every((h) => h === 0);
      if (panic) health = this.health(levels, true);
      const load = priorityLoad(health);
      const r = hash === undefined ? Math.floor(this.random() * 100) : fmix32(hash ^ 0x5bd1e995) % 100;
      first = chooseLevel(load, r);
    }
    const skipTried = tried !== undefined && tried.size > 0;
    const found = this.fromLevels(levels, first, panic, skipTried ? tried : undefined, hash);
    if (found || untriedOnly || !skipTried) return found;
    return this.fromLevels(levels, first, panic, undefined, hash);
  }

  /** The first endpoint level `first`, then the others in priority order, can offer. */
  private fromLevels(
    levels: Level[],
    first: number,
    panic: boolean,
    tried: ReadonlySet<Endpoint> | undefined,
    hash: number | undefined,
  ): Endpoint | undefined {
    const ok = (e: Endpoint) => e.unavailableReason(panic) === undefined && !tried?.has(e);
    for (let k = -1; k < levels.length; k++) {
      if (k === first) continue;
      const level = levels[k < 0 ? first : k]!;
      if (level.table && hash !== undefined) {
        const e = level.table.pick(hash, ok);
        if (e) return e;
        continue;
      }
      const candidates = level.endpoints.filter(ok);
      if (candidates.length === 0) continue;
      const now = performance.now();
      return this.picker(candidates, (e) => e.effectiveWeight(now));
    }
    return undefined;
  }

  /** Each level's health score (0..100). */
  private health(levels: Level[], ignoreEjection: boolean): number[] {
    return levels.map((l) => {
      let healthy = 0;
      let total = 0;
      for (const e of l.endpoints) {
        if (e.isDraining) continue;
        total++;
        if (e.isHealthy(ignoreEjection)) healthy++;
      }
      return levelHealth(healthy, total, this.factor);
    });
  }

  /** The endpoint list by priority level, lowest first; rebuilt (with its hash tables) when the list is replaced. */
  private levels(): Level[] {
    const list = this.endpoints.list;
    if (this.cached?.list === list) return this.cached.levels;
    const byPriority = new Map<number, Endpoint[]>();
    for (const e of list) {
      const l = byPriority.get(e.priority);
      if (l) l.push(e);
      else byPriority.set(e.priority, [e]);
    }
    const levels = [...byPriority]
      .sort((a, b) => a[0] - b[0])
      .map(([priority, endpoints]): Level => ({ priority, endpoints, table: this.tableFor(endpoints) }));
    this.cached = { list, levels };
    return levels;
  }

  private tableFor(endpoints: Endpoint[]): HashTable<Endpoint> | undefined {
    if (this.hashKind === "ring_hash") return new RingHash(endpoints);
    if (this.hashKind === "maglev") return new Maglev(endpoints);
    return undefined;
  }

  /** Says why no endpoint can take a call: the message a client sees with UNAVAILABLE. */
  unavailableMessage(): string {
    const all = this.endpoints.list;
    if (all.length === 0) return `cluster "${this.name}" has no endpoints`;
    const why = all.map((e) => `${e.address} ${e.unavailableReason() ?? "busy"}`);
    return `cluster "${this.name}" has no endpoint available: ${why.join("; ")}`;
  }
}
