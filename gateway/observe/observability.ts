import type { GatewayConfig } from "../config/types.js";
import { type EndpointsNow, GatewayMetrics } from "./metrics.js";
import { type CallSink, Observer } from "./observer.js";

export interface ObservabilityInputs {
  /** Each cluster's endpoints now, for the gauges computed at scrape time. */
  endpointsNow: EndpointsNow;
}

/**
 * Everything that watches the gateway, built from the config: the metrics
 * registry, and the Observer the proxy hands each call to (undefined when
 * nothing observes calls, so they pay nothing).
 */
export class Observability {
  readonly metrics: GatewayMetrics | undefined;
  private current: Observer | undefined;

  constructor(config: GatewayConfig, inputs: ObservabilityInputs) {
    // Served on the admin listener: without one, nothing is collected.
    this.metrics = config.metrics?.enabled && config.admin ? new GatewayMetrics(inputs.endpointsNow) : undefined;
    this.current = observerOf([this.metrics]);
  }

  /** The observer calls start with now. */
  get observer(): Observer | undefined {
    return this.current;
  }

  /** A reload ended with `status` (reloaded, unchanged, rejected). */
  reloaded(status: string): void {
    this.metrics?.reloaded(status);
  }

  /** A discovery provider answered for `cluster`. */
  discoveryUpdate(cluster: string, ok: boolean): void {
    this.metrics?.discoveryUpdate(cluster, ok);
  }
}

function observerOf(sinks: Array<CallSink | undefined>): Observer | undefined {
  const on = sinks.filter((s): s is CallSink => s !== undefined);
  return on.length > 0 ? new Observer(on) : undefined;
}
