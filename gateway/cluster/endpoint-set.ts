import type { ClusterConfig, EndpointConfig } from "../config/types.js";
import { Endpoint } from "./endpoint.js";
import { OutlierDetector } from "./outlier.js";
import type { HealthBoard } from "./health-board.js";

/** What a cluster event is about, for structured logs; the message says it for people. */
export type ClusterEventFacts =
  | { event: "health"; cluster: string; endpoint: string; state: "healthy" | "unhealthy"; reason: string }
  | { event: "breaker"; cluster: string; endpoint: string; state: "open" | "closed" }
  | { event: "ejection"; cluster: string; endpoint: string; reason: string }
  | {
      event: "discovery";
      cluster: string;
      provider: string;
      state: "changed" | "failing" | "recovered" | "skipped";
      detail: string;
    }
  | { event: "drain"; cluster: string; endpoint: string; state: "drained" | "undrained" }
  /** The door's own news (a shared rate limit's Redis going away and coming back). */
  | { event: "guard" }
  | {
      event: "reflection";
      cluster?: string;
      endpoint?: string;
      state: "failing" | "answering" | "unimplemented" | "learned" | "conflict";
    };

/** Endpoint health, breaker, ejection and discovery changes: one line for people, and the facts. */
export type ClusterEvent = (message: string, facts: ClusterEventFacts) => void;

/** A TCP connection to an endpoint of `cluster` at `address` could not be made. */
export type ConnectFailure = (cluster: string, address: string) => void;

/** An endpoint of `cluster` at `address` came into a running set (discovery found it, a reload listed it). */
export type EndpointAdded = (cluster: string, address: string) => void;

/** The source name of the endpoints the config lists. */
export const STATIC = "static";

/**
 * A cluster's endpoints, keyed by address, changeable while calls run
 * (docs/DESIGN.md, "Snapshots and endpoint sets"). Whatever produces the
 * desired list (the config today, discovery later) hands it to reconcile():
 * an unchanged address keeps its Endpoint and with it breaker, EWMA,
 * outlier and health state and pooled connections; a new one starts with
 * slow start; a removed one drains. Balancers read `list`, never own it.
 */
export class EndpointSet {
  private readonly byAddress = new Map<string, Endpoint>();
  /** The desired lists by source ("static" from the config, "discovery" from a provider), merged in this order. */
  private readonly sources = new Map<string, readonly EndpointConfig[]>();
  /** Addresses an operator drained (the admin API); a mark lasts while its address stays in the set. */
  private readonly drainedByOperator = new Set<string>();
  /** The endpoints in service, in desired-list order; replaced, never mutated, so a reader's copy stays valid. */
  list: readonly Endpoint[] = [];
  readonly outliers: OutlierDetector;
  private started = false;
  private readonly connectFailed: ((e: Endpoint) => void) | undefined;
  private readonly added: ((address: string) => void) | undefined;

  constructor(
    /** The settings endpoints are built with; a config that changes them needs a new set. */
    private readonly config: ClusterConfig,
    private readonly onEvent: ClusterEvent = () => {},
    onConnectFailure?: ConnectFailure,
    onAdded?: EndpointAdded,
    /** Health decided elsewhere (workers follow the primary's checks). */
    private readonly board?: HealthBoard,
  ) {
    this.connectFailed = onConnectFailure && ((e) => onConnectFailure(config.name, e.address));
    this.added = onAdded && ((address) => onAdded(config.name, address));
    this.outliers = new OutlierDetector(
      config.resilience.outlierDetection,
      () => this.list.map((e) => e.outlier),
      undefined,
      (host, reason) => {
        const e = this.list.find((x) => x.outlier === host);
        onEvent(`${e?.label ?? "endpoint"} ejected: ${reason}`, {
          event: "ejection",
          cluster: config.name,
          endpoint: e?.address ?? "",
          reason,
        });
      },
    );
    this.update(STATIC, config.endpoints);
  }

  /**
   * Replaces one source's list and reconciles the set with every source's
   * (an address listed by several counts once, as the first source lists it).
   */
  update(source: string, list: readonly EndpointConfig[]): ReturnType<EndpointSet["reconcile"]> {
    this.sources.set(source, list);
    const merged: EndpointConfig[] = [];
    const seen = new Set<string>();
    for (const l of this.sources.values()) {
      for (const e of l) {
        if (seen.has(e.address)) continue;
        seen.add(e.address);
        merged.push(e);
      }
    }
    return this.reconcile(merged);
  }

  /** The lists of every source but the config's, to hand on to a set that replaces this one. */
  otherSources(): Array<[string, readonly EndpointConfig[]]> {
    return [...this.sources].filter(([name]) => name !== STATIC);
  }

  get clusterName(): string {
    return this.config.name;
  }

  /**
   * Makes the set match `desired`. Returns what changed, for logs and tests.
   * Removed endpoints finish their calls before their connections close.
   */
  reconcile(desired: readonly EndpointConfig[]): { added: string[]; removed: string[]; updated: string[] } {
    const added: string[] = [];
    const updated: string[] = [];
    const next: Endpoint[] = [];
    const wanted = new Set<string>();
    for (const d of desired) {
      if (wanted.has(d.address)) continue;
      wanted.add(d.address);
      let ep = this.byAddress.get(d.address);
      if (!ep) {
        ep = new Endpoint(
          this.config,
          d,
          this.outliers,
          (e, what, change) =>
            this.onEvent(`${e.label} ${what}`, { ...change, cluster: this.config.name, endpoint: e.address }),
          this.connectFailed,
          this.board,
        );
        this.byAddress.set(d.address, ep);
        if (this.started) ep.start();
        added.push(d.address);
      } else if (ep.weight !== d.weight || ep.priority !== d.priority) {
        ep.weight = d.weight;
        ep.priority = d.priority;
        updated.push(d.address);
      }
      next.push(ep);
    }
    const removed: string[] = [];
    for (const [address, ep] of this.byAddress) {
      if (wanted.has(address)) continue;
      this.byAddress.delete(address);
      this.drainedByOperator.delete(address);
      removed.push(address);
      void ep.drain();
    }
    this.list = next;
    // Only once running: a new set's first endpoints are announced by whoever starts it.
    if (this.started) for (const address of added) this.added?.(address);
    return { added, removed, updated };
  }

  /** Endpoints in service that fail their active health checks (the primary hands these to workers). */
  unhealthy(): string[] {
    return this.list.filter((e) => e.health && !e.health.healthy).map((e) => e.address);
  }

  get(address: string): Endpoint | undefined {
    return this.byAddress.get(address);
  }

  /**
   * An operator's drain (on) or undrain (off) of the endpoint at `address`:
   * it takes no new calls and finishes the ones it has. The mark stays while
   * the address stays in the set, whatever the sources say about weights or
   * priorities, and moves to a set that replaces this one (drainedAddresses).
   * Returns the endpoint, or undefined when the set has no such address.
   */
  setDrained(address: string, on: boolean): Endpoint | undefined {
    const ep = this.byAddress.get(address);
    if (!ep) return undefined;
    if (on) this.drainedByOperator.add(address);
    else this.drainedByOperator.delete(address);
    const state = on ? "drained" : "undrained";
    if (ep.drained !== on)
      this.onEvent(`${ep.label} ${state} by an operator`, {
        event: "drain",
        cluster: this.config.name,
        endpoint: address,
        state,
      });
    ep.setDrained(on);
    return ep;
  }

  /** The addresses an operator drained, to hand on to a set that replaces this one. */
  drainedAddresses(): string[] {
    return [...this.drainedByOperator];
  }

  /** Whether endpoints built for `config` would be built the same way: then this set can serve it. */
  fits(config: ClusterConfig): boolean {
    return endpointSettings(config) === endpointSettings(this.config);
  }

  start(): void {
    this.started = true;
    for (const e of this.list) e.start();
    if (this.config.resilience.outlierDetection.enabled) this.outliers.start();
  }

  /** No longer in any current snapshot: every endpoint drains. */
  retire(): Promise<void> {
    this.outliers.stop();
    const all = [...this.byAddress.values()];
    this.byAddress.clear();
    this.list = [];
    return Promise.all(all.map((e) => e.drain())).then(() => {});
  }

  async close(): Promise<void> {
    this.outliers.stop();
    await Promise.all([...this.byAddress.values()].map((e) => e.close()));
  }
}

/** What an Endpoint bakes in when it is made: transport, breaker, health checks, slow start, outlier rules. */
function endpointSettings(c: ClusterConfig): string {
  const r = c.resilience;
  return JSON.stringify([
    c.name,
    c.protocol,
    c.http,
    c.tls,
    c.connectTimeoutMs,
    r.circuitBreaker,
    r.healthCheck,
    r.outlierDetection,
    r.slowStartMs,
  ]);
}
