import type { ClusterConfig, UpstreamProtocol } from "../config/types.js";
import type { Endpoint } from "./endpoint.js";
import type { EndpointSet } from "./endpoint-set.js";
import { pickerFor, type Pick } from "./balancer/pick.js";

/**
 * A named group of endpoints that speak one protocol, as one config
 * snapshot sees it: its settings are fixed, its endpoint set (shared with
 * the snapshots before and after it) changes underneath.
 */
export class Cluster {
  readonly name: string;
  readonly protocol: UpstreamProtocol;
  private readonly picker: Pick;

  constructor(
    readonly config: ClusterConfig,
    readonly endpoints: EndpointSet,
  ) {
    this.name = config.name;
    this.protocol = config.protocol;
    this.picker = pickerFor(config.resilience.balancer);
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
   * Endpoints that can take a call, from the lowest priority level that has
   * any. When outlier ejection alone would leave none, ejection is ignored
   * (Envoy's panic routing): an ejection is a statistical guess, and with one
   * or two endpoints a run of application errors must not take the whole
   * cluster down. Failed health checks, open breakers, draining and full
   * in-flight caps are facts and still exclude.
   */
  private available(): Endpoint[] {
    const all = this.endpoints.list;
    let up = all.filter((e) => e.unavailableReason() === undefined);
    if (up.length === 0) up = all.filter((e) => e.unavailableReason(true) === undefined);
    if (up.length <= 1) return up;
    let level = Infinity;
    for (const e of up) if (e.priority < level) level = e.priority;
    return up.every((e) => e.priority === level) ? up : up.filter((e) => e.priority === level);
  }

  /** Says why no endpoint can take a call: the message a client sees with UNAVAILABLE. */
  unavailableMessage(): string {
    const all = this.endpoints.list;
    if (all.length === 0) return `cluster "${this.name}" has no endpoints`;
    const why = all.map((e) => `${e.address} ${e.unavailableReason() ?? "busy"}`);
    return `cluster "${this.name}" has no endpoint available: ${why.join("; ")}`;
  }
}
