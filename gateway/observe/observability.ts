import type { Logger } from "pino";
import type { GatewayConfig } from "../config/types.js";
import type { ClusterEventFacts } from "../cluster/endpoint-set.js";
import { AccessLog } from "./access-log.js";
import { type ReloadOutcome, logClusterEvent, logReload } from "./events.js";
import { type EndpointsNow, GatewayMetrics } from "./metrics.js";
import { type CallSink, Observer } from "./observer.js";
import { Tracing } from "./tracing.js";

export interface ObservabilityInputs {
  /** Each cluster's endpoints now, for the gauges computed at scrape time. */
  endpointsNow: EndpointsNow;
  /** Where events and access lines go; without one the gateway logs nothing. */
  log?: Logger;
  /** A worker of `workers: N`: no admin listener here, its primary serves the group's /metrics from this registry. */
  metricsForPrimary?: boolean;
}

/**
 * Everything that watches the gateway, built from the config: the metrics
 * registry, the logger's events and access lines, the tracer, and the
 * Observer the proxy hands each call to (undefined when nothing observes
 * calls, so they pay nothing). Logging and tracing follow reloads; metrics
 * are fixed at start, as the admin listener that serves them is.
 */
export class Observability {
  readonly metrics: GatewayMetrics | undefined;
  readonly log: Logger | undefined;
  private accessLog: AccessLog | undefined;
  private tracing: Tracing | undefined;
  private current: Observer | undefined;
  private made = false;

  constructor(config: GatewayConfig, inputs: ObservabilityInputs) {
    // Served on the admin listener (a worker's by its primary's): without one, nothing is collected.
    const served = config.admin !== undefined || inputs.metricsForPrimary === true;
    this.metrics = config.metrics?.enabled && served ? new GatewayMetrics(inputs.endpointsNow) : undefined;
    this.log = inputs.log;
    this.reconfigure(config);
  }

  /** The observer calls start with now. */
  get observer(): Observer | undefined {
    return this.current;
  }

  /**
   * Applies what a reload may change: the log level, whether calls are
   * access-logged, and tracing (a new exporter; the old one sends what it
   * has and stops). Calls in flight keep the observer they started with.
   */
  reconfigure(config: GatewayConfig): void {
    const logging = config.logging ?? { level: "info", access: false };
    if (this.log) this.log.level = logging.level;
    const access = logging.access && this.log !== undefined;
    const tracingChanged = JSON.stringify(config.tracing) !== JSON.stringify(this.tracing?.config);
    if (!this.made || tracingChanged || access !== (this.accessLog !== undefined)) {
      this.made = true;
      if (tracingChanged) {
        void this.tracing?.shutdown().catch(() => {});
        this.tracing = config.tracing ? new Tracing(config.tracing) : undefined;
      }
      this.accessLog = access ? new AccessLog(this.log!) : undefined;
      // The tracer runs first, so the access line has the call's trace id.
      this.current = observerOf([this.metrics, this.tracing, this.accessLog], access || this.tracing !== undefined);
    }
  }

  /** Sends the spans batched so far (tests; a stop does it too). */
  flush(): Promise<void> {
    return this.tracing?.flush() ?? Promise.resolve();
  }

  /** Sends what is left and stops the exporters. */
  async close(): Promise<void> {
    await this.tracing?.shutdown().catch(() => {});
  }

  /** An endpoint or discovery change (the cluster manager's and discovery's events). */
  clusterEvent(message: string, facts: ClusterEventFacts): void {
    if (this.log) logClusterEvent(this.log, message, facts);
  }

  /** A reload ended; `message` is its one-line summary. */
  reloaded(result: ReloadOutcome, trigger: string, message: string): void {
    this.metrics?.reloaded(result.status);
    if (this.log) logReload(this.log, result, trigger, message);
  }

  /** A discovery provider answered for `cluster`. */
  discoveryUpdate(cluster: string, ok: boolean): void {
    this.metrics?.discoveryUpdate(cluster, ok);
  }
}

function observerOf(sinks: Array<CallSink | undefined>, wantsPeer: boolean): Observer | undefined {
  const on = sinks.filter((s): s is CallSink => s !== undefined);
  return on.length > 0 ? new Observer(on, wantsPeer) : undefined;
}
