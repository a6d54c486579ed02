import { AggregatorRegistry } from "prom-client";
import { type GatewayMetrics, PRIMARY_FAMILIES, type WorkersSay } from "../observe/metrics.js";
import type { MetricsSource } from "../admin/admin-server.js";
import type { ClustersView } from "../admin/cluster-view.js";
import type { WorkerMetrics } from "./messages.js";

/** The types whose values only grow (prom-client's typings say an enum; the JSON says these strings). */
const MONOTONIC = new Set(["counter", "histogram"]);

export interface GroupMetricsSources {
  /** The primary's own registry: its process, reloads, discovery, and the endpoint gauges of the group view. */
  own: GatewayMetrics;
  /** Every started worker's registry as JSON, by worker id; undefined for one that did not answer in time. */
  ask: () => Promise<Map<number, WorkerMetrics | undefined>>;
  /** The workers alive now, by id. */
  alive: () => Iterable<number>;
  /** Brings what the primary's endpoint gauges read up to date (its group view), before its registry is read. */
  refresh: () => Promise<void>;
}

/**
 * The group's /metrics with `workers: N`: prom-client's cluster aggregation
 * (AggregatorRegistry.aggregate, each metric by its `aggregator`: counters,
 * histograms and most gauges summed, the version `first`, the start time
 * omitted) over the primary's registry and every worker's, asked over the
 * workers' IPC channel (messages.ts). So calls, attempts, hedges and
 * in-flight gauges add up over workers, and process_* and nodejs_* describe
 * the whole group, primary included. The families the primary owns
 * (PRIMARY_FAMILIES: reloads, discovery, endpoint up and state from its
 * group view) are its alone.
 *
 * Counters must not go down, or Prometheus reads a reset: a worker that does
 * not answer in time counts with its last answer, and one that exits leaves
 * its last counters and histograms behind (what it counted after that
 * answer is lost, not subtracted).
 */
export class GroupMetrics implements MetricsSource {
  /** Each live worker's last answer. */
  private readonly last = new Map<number, WorkerMetrics>();
  /** The counters and histograms of workers that exited, added up. */
  private retired: WorkerMetrics = [];

  /** Scrapes run one at a time: each may fold a gone worker into `retired`. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly from: GroupMetricsSources) {}

  scrape(): Promise<{ contentType: string; body: string }> {
    const run = this.queue.then(() => this.once());
    this.queue = run.catch(() => {});
    return run;
  }

  private async once(): Promise<{ contentType: string; body: string }> {
    const [answers] = await Promise.all([this.from.ask(), this.from.refresh()]);
    for (const [id, m] of answers) {
      if (m)
        this.last.set(
          id,
          m.filter((f) => !PRIMARY_FAMILIES.has(f.name)),
        );
    }
    const alive = new Set(this.from.alive());
    const gone = [...this.last].filter(([id]) => !alive.has(id));
    if (gone.length > 0) {
      for (const [id] of gone) this.last.delete(id);
      const kept = gone.map(([, m]) => m.filter((f) => MONOTONIC.has(f.type as unknown as string)));
      this.retired = await AggregatorRegistry.aggregate([this.retired, ...kept]).getMetricsAsJSON();
    }
    const own = await this.from.own.registry.getMetricsAsJSON();
    const registry = AggregatorRegistry.aggregate([own, ...this.last.values(), this.retired]);
    return { contentType: registry.contentType, body: await registry.metrics() };
  }
}

/** What the workers say of each endpoint, from the admin API's group view, for the primary's endpoint gauges. */
export function workersSayOf(view: ClustersView): WorkersSay {
  const said = new Map<string, ReturnType<WorkersSay>>();
  for (const c of view.clusters) {
    for (const e of c.endpoints ?? []) {
      said.set(`${c.name}\0${e.address}`, {
        ejected: (e.ejectedWorkers ?? 0) > 0,
        breakerOpen: (e.breakerOpenWorkers ?? 0) > 0,
        up: !e.unavailableReason,
      });
    }
  }
  return (cluster, address) => said.get(`${cluster}\0${address}`);
}
