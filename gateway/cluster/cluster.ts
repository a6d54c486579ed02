import type { ClusterConfig, UpstreamProtocol } from "../config/types.js";
import { Endpoint } from "./endpoint.js";
import { pickerFor, type Pick } from "./balancer/pick.js";
import { OutlierDetector } from "./outlier.js";
import { RetryBudget } from "../policy/retry-budget.js";
import { LatencyWindow } from "../policy/latency-window.js";

export type ClusterEvent = (message: string) => void;

/** A named group of endpoints that speak one protocol, with their shared policy state. */
export class Cluster {
  readonly name: string;
  readonly protocol: UpstreamProtocol;
  readonly config: ClusterConfig;
  readonly endpoints: Endpoint[];
  readonly budget: RetryBudget;
  readonly outliers: OutlierDetector;
  private readonly picker: Pick;
  private readonly latency = new Map<string, LatencyWindow>();

  constructor(config: ClusterConfig, onEvent: ClusterEvent = () => {}) {
    this.name = config.name;
    this.protocol = config.protocol;
    this.config = config;
    const r = config.resilience;
    this.endpoints = config.endpoints.map((e) => new Endpoint(config, e, (ep, what) => onEvent(`${ep.label} ${what}`)));
    this.picker = pickerFor(r.balancer);
    this.budget = new RetryBudget(r.retryBudget);
    const byHost = new Map(this.endpoints.map((e) => [e.outlier, e]));
    this.outliers = new OutlierDetector(
      r.outlierDetection,
      () => this.endpoints.map((e) => e.outlier),
      undefined,
      (host, reason) => onEvent(`${byHost.get(host)?.label ?? "endpoint"} ejected: ${reason}`),
    );
  }

  start(): void {
    for (const e of this.endpoints) e.start();
    if (this.config.resilience.outlierDetection.enabled) this.outliers.start();
  }

  /**
   * An endpoint able to take a call, preferring ones this call has not tried
   * yet; undefined when every endpoint is out.
   */
  pick(tried?: ReadonlySet<Endpoint>): Endpoint | undefined {
    const now = performance.now();
    const up = this.available();
    const fresh = tried && tried.size > 0 ? up.filter((e) => !tried.has(e)) : up;
    return this.picker(fresh.length > 0 ? fresh : up, (e) => e.effectiveWeight(now));
  }

  /** Endpoints this call has not tried that could take it now (for hedges, which must go elsewhere). */
  pickUntried(tried: ReadonlySet<Endpoint>): Endpoint | undefined {
    const now = performance.now();
    return this.picker(
      this.available().filter((e) => !tried.has(e)),
      (e) => e.effectiveWeight(now),
    );
  }

  /**
   * Endpoints that can take a call. When outlier ejection alone would leave
   * none, ejection is ignored (Envoy's panic routing): an ejection is a
   * statistical guess, and with one or two endpoints a run of application
   * errors must not take the whole cluster down. Failed health checks, open
   * breakers and full in-flight caps are facts and still exclude.
   */
  private available(): Endpoint[] {
    const up = this.endpoints.filter((e) => e.unavailableReason(this.outliers.isEjected(e.outlier)) === undefined);
    return up.length > 0 ? up : this.endpoints.filter((e) => e.unavailableReason(false) === undefined);
  }

  /** Says why no endpoint can take a call: the message a client sees with UNAVAILABLE. */
  unavailableMessage(): string {
    if (this.endpoints.length === 0) return `cluster "${this.name}" has no endpoints`;
    const why = this.endpoints.map((e) => `${e.address} ${e.unavailableReason(this.outliers.isEjected(e.outlier)) ?? "busy"}`);
    return `cluster "${this.name}" has no endpoint available: ${why.join("; ")}`;
  }

  latencyWindow(path: string): LatencyWindow {
    let w = this.latency.get(path);
    if (!w) {
      w = new LatencyWindow();
      // Paths come from clients (a prefix route matches anything): bound the map.
      if (this.latency.size < 1000) this.latency.set(path, w);
    }
    return w;
  }

  async close(): Promise<void> {
    this.outliers.stop();
    await Promise.all(this.endpoints.map((e) => e.close()));
  }
}
