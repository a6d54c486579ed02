import type { DescFile } from "@bufbuild/protobuf";
import type { GatewayConfig } from "../config/types.js";
import type { ClusterManager } from "../cluster/cluster-manager.js";
import type { DiscoveryManager } from "../discovery/discovery-manager.js";
import { ClusterPolicy } from "../policy/cluster-policy.js";
import { RouteTable } from "../route/route-table.js";
import { MethodCatalogue } from "../route/method-catalogue.js";
import { Cors } from "../route/cors.js";
import type { RoutingView, Upstream } from "../route/call-plan.js";

/**
 * Everything one config decides, built once and never changed: routes,
 * clusters with their call policy, the method catalogue, limits and CORS.
 * A call reads the current snapshot once and keeps it to its end; a reload
 * builds a new one and swaps the reference (docs/DESIGN.md, "Snapshots and
 * endpoint sets").
 */
export interface Snapshot extends RoutingView {
  readonly config: GatewayConfig;
  readonly maxBytes: number;
  readonly cors: Cors;
}

export interface SnapshotInputs {
  /** Owns the endpoint sets that outlive snapshots. */
  clusters: ClusterManager;
  /** Runs the clusters' discovery providers, which outlive snapshots too. */
  discovery?: DiscoveryManager;
  /** Descriptor files the embedding program knows (the demo's, from demo.ts). */
  descriptors?: readonly DescFile[];
}

/** Builds the snapshot for `config`, carrying the previous one's per-cluster policy state over. */
export function buildSnapshot(config: GatewayConfig, inputs: SnapshotInputs, previous?: Snapshot): Snapshot {
  const clusters = inputs.clusters.apply(config.clusters);
  inputs.discovery?.apply(config.clusters);
  const upstreams = new Map<string, Upstream>();
  for (const [name, cluster] of clusters) {
    upstreams.set(name, {
      cluster,
      policy: new ClusterPolicy(cluster.config.resilience, previous?.upstreams.get(name)?.policy),
    });
  }
  return {
    config,
    routes: new RouteTable(config.routes),
    upstreams,
    methods: new MethodCatalogue(config.descriptorSets, inputs.descriptors),
    maxBytes: config.limits.maxMessageBytes,
    maxJsonDepth: config.limits.maxJsonDepth,
    cors: new Cors(config.cors),
  };
}
