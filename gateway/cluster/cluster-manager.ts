import type { ClusterConfig } from "../config/types.js";
import { Cluster } from "./cluster.js";
import { type ClusterEvent, type ConnectFailure, type EndpointAdded, EndpointSet, STATIC } from "./endpoint-set.js";
import type { HealthBoard, UnhealthyEndpoint } from "./health-board.js";

/**
 * Owns every cluster's endpoint set across config snapshots (Envoy's
 * cluster manager). apply() makes the Cluster objects of a new snapshot:
 * a cluster whose endpoint settings did not change keeps its set, which
 * reconciles to the new endpoint list; a new or rebuilt one gets a fresh set;
 * sets no snapshot uses any more are retired (they drain).
 */
export class ClusterManager {
  private readonly sets = new Map<string, EndpointSet>();
  private readonly connectFailureListeners: ConnectFailure[] = [];
  private readonly addedListeners: EndpointAdded[] = [];

  constructor(
    private readonly onEvent: ClusterEvent = () => {},
    /** Health decided elsewhere: workers follow the primary's checks (cluster/health-board.ts). */
    private readonly board?: HealthBoard,
  ) {}

  apply(configs: ReadonlyMap<string, ClusterConfig>): Map<string, Cluster> {
    const clusters = new Map<string, Cluster>();
    const retired: EndpointSet[] = [];
    for (const [name, config] of configs) {
      let set = this.sets.get(name);
      if (set && !set.fits(config)) {
        retired.push(set);
        set = undefined;
      }
      if (set) set.update(STATIC, config.endpoints);
      else {
        const previous = retired.find((r) => r.clusterName === name);
        set = new EndpointSet(config, this.onEvent, this.connectFailed, this.endpointAdded, this.board);
        // A rebuilt set keeps what other sources (discovery) had found.
        for (const [source, list] of previous?.otherSources() ?? []) set.update(source, list);
        // And an operator's drains, for the addresses it still has.
        for (const address of previous?.drainedAddresses() ?? []) set.setDrained(address, true);
        set.start();
        this.sets.set(name, set);
      }
      clusters.set(name, new Cluster(config, set));
    }
    for (const [name, set] of this.sets) {
      if (!configs.has(name)) {
        retired.push(set);
        this.sets.delete(name);
      }
    }
    for (const set of retired) void set.retire();
    return clusters;
  }

  /** Tells `listener` whenever a TCP connection to an endpoint cannot be made (discovery re-resolves on it). */
  onConnectFailure(listener: ConnectFailure): void {
    this.connectFailureListeners.push(listener);
  }

  /** Every endpoint in service that fails its active health checks, for a HealthBoard elsewhere. */
  unhealthy(): UnhealthyEndpoint[] {
    return [...this.sets].flatMap(([cluster, set]) => set.unhealthy().map((address) => ({ cluster, address })));
  }

  private readonly connectFailed: ConnectFailure = (cluster, address) => {
    for (const l of this.connectFailureListeners) l(cluster, address);
  };

  /** Tells `listener` whenever an endpoint joins a running set (reflection asks it for its API). */
  onEndpointAdded(listener: EndpointAdded): void {
    this.addedListeners.push(listener);
  }

  private readonly endpointAdded: EndpointAdded = (cluster, address) => {
    for (const l of this.addedListeners) l(cluster, address);
  };

  /** The live endpoint set of a cluster, for discovery, drains and the admin view. */
  endpointSet(name: string): EndpointSet | undefined {
    return this.sets.get(name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.sets.values()].map((s) => s.close()));
    this.sets.clear();
  }
}
