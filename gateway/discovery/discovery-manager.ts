import type { ClusterConfig, DiscoveryConfig, EndpointConfig } from "../config/types.js";
import type { ClusterManager } from "../cluster/cluster-manager.js";
import type { ClusterEvent } from "../cluster/endpoint-set.js";
import type { EndpointProvider } from "./provider.js";
import { createProvider } from "./create-provider.js";

/** The endpoint set's source name for what discovery finds. */
export const DISCOVERY = "discovery";

/** How one cluster's discovery is doing, for /ready and the admin view. */
export interface DiscoveryStatus {
  cluster: string;
  provider: string;
  /** starting: no answer yet; ok: the last attempt succeeded; failing: it did not, and the last good list is kept. */
  state: "starting" | "ok" | "failing";
  /** Endpoints from the last good answer. */
  endpoints: number;
  /** The last failure, while failing. */
  error?: string;
  /** Entries of the last good answer that were not endpoints (e.g. a malformed registration), skipped. */
  skipped?: string[];
  /** When the state last changed (ISO 8601). */
  since: string;
}

/** Makes the provider for one cluster's discovery settings (workers get theirs from the primary). */
export type ProviderFactory = (cluster: string, d: DiscoveryConfig) => EndpointProvider;
/** A provider for `cluster` answered: ok with an endpoint list, or not. */
export type DiscoveryUpdate = (cluster: string, ok: boolean) => void;

interface Running {
  key: string;
  provider: EndpointProvider;
  status: DiscoveryStatus;
  last: EndpointConfig[] | undefined;
}

/**
 * Runs one provider per cluster that has a `discovery` block and feeds what
 * it finds into the cluster's endpoint set. Providers outlive snapshots: a
 * reload that leaves a cluster's discovery settings as they were keeps its
 * provider (and what it found); one that changes them starts a new one.
 * A failure never empties a cluster: the last good list stays, the state says
 * so, and one line is logged per run of failures.
 */
export class DiscoveryManager {
  private readonly running = new Map<string, Running>();
  private readonly updateListeners: DiscoveryUpdate[] = [];

  constructor(
    private readonly clusters: ClusterManager,
    private readonly onEvent: ClusterEvent = () => {},
    private readonly create: ProviderFactory = (_cluster, d) => createProvider(d),
  ) {
    // A connection to a discovered address failed: the fleet may have moved.
    clusters.onConnectFailure((cluster, address) => {
      const r = this.running.get(cluster);
      if (r?.last?.some((e) => e.address === address)) r.provider.nudge?.();
    });
  }

  /** Tells `listener` of every answer a provider gives, success or failure (metrics count them). */
  onUpdate(listener: DiscoveryUpdate): void {
    this.updateListeners.push(listener);
  }

  private updated(cluster: string, ok: boolean): void {
    for (const l of this.updateListeners) l(cluster, ok);
  }

  apply(configs: ReadonlyMap<string, ClusterConfig>): void {
    for (const [name, r] of this.running) {
      const d = configs.get(name)?.discovery;
      if (d && keyOf(d) === r.key) continue;
      this.running.delete(name);
      void r.provider.stop();
      // What the old provider found is not the new one's answer.
      this.clusters.endpointSet(name)?.update(DISCOVERY, []);
    }
    for (const [name, config] of configs) {
      if (config.discovery && !this.running.has(name)) this.start(name, config.discovery);
    }
  }

  private start(cluster: string, d: DiscoveryConfig): void {
    const provider = this.create(cluster, d);
    const r: Running = {
      key: keyOf(d),
      provider,
      last: undefined,
      status: { cluster, provider: provider.description, state: "starting", endpoints: 0, since: now() },
    };
    this.running.set(cluster, r);
    provider.start({
      list: (endpoints, skipped = []) => {
        if (this.running.get(cluster) !== r) return;
        this.updated(cluster, true);
        // One line per entry newly skipped, not one per answer that still holds it.
        const before = new Set(r.status.skipped);
        const facts = (state: "changed" | "failing" | "recovered" | "skipped", detail: string) =>
          ({ event: "discovery", cluster, provider: provider.description, state, detail }) as const;
        for (const s of skipped)
          if (!before.has(s))
            this.onEvent(
              `cluster "${cluster}" discovery (${provider.description}) skipped an entry: ${s}`,
              facts("skipped", s),
            );
        const change = this.clusters.endpointSet(cluster)?.update(DISCOVERY, endpoints);
        r.last = endpoints;
        if (r.status.state !== "ok") {
          if (r.status.state === "failing")
            this.onEvent(
              `cluster "${cluster}" discovery (${provider.description}) recovered: ${endpoints.length} endpoint(s)`,
              facts("recovered", `${endpoints.length} endpoint(s)`),
            );
          r.status = { ...r.status, state: "ok", error: undefined, since: now() };
        }
        r.status.endpoints = endpoints.length;
        r.status.skipped = skipped.length > 0 ? skipped : undefined;
        if (change && change.added.length + change.removed.length + change.updated.length > 0) {
          this.onEvent(
            `cluster "${cluster}" discovery: ${describe(change)} (now ${endpoints.length} from ${provider.description})`,
            facts("changed", describe(change)),
          );
        }
      },
      error: (err) => {
        if (this.running.get(cluster) !== r) return;
        this.updated(cluster, false);
        if (r.status.state !== "failing") {
          const kept = r.last ? `keeping the last ${r.last.length} endpoint(s) found` : "no endpoints found yet";
          this.onEvent(`cluster "${cluster}" discovery (${provider.description}) failing, ${kept}: ${err.message}`, {
            event: "discovery",
            cluster,
            provider: provider.description,
            state: "failing",
            detail: err.message,
          });
          r.status = { ...r.status, state: "failing", since: now() };
        }
        r.status.error = err.message;
      },
    });
  }

  /** Asks the cluster's provider to look again now (a worker could not connect to an address it found). */
  nudge(cluster: string): void {
    this.running.get(cluster)?.provider.nudge?.();
  }

  status(): DiscoveryStatus[] {
    return [...this.running.values()].map((r) => ({ ...r.status }));
  }

  async close(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map((r) => r.provider.stop()));
  }
}

/** Two discovery settings with the same key run the same provider. */
export function keyOf(d: DiscoveryConfig): string {
  return JSON.stringify(d);
}

function now(): string {
  return new Date().toISOString();
}

function describe(change: { added: string[]; removed: string[]; updated: string[] }): string {
  const parts: string[] = [];
  if (change.added.length) parts.push(`added ${change.added.join(", ")}`);
  if (change.removed.length) parts.push(`removed ${change.removed.join(", ")}`);
  if (change.updated.length) parts.push(`updated ${change.updated.join(", ")}`);
  return parts.join("; ");
}
