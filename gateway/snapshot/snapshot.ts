import type { DescFile } from "@bufbuild/protobuf";
import type { GatewayConfig } from "../config/types.js";
import type { ClusterManager } from "../cluster/cluster-manager.js";
import type { ClusterEvent } from "../cluster/endpoint-set.js";
import type { DiscoveryManager } from "../discovery/discovery-manager.js";
import type { ReflectionManager } from "../descriptors/reflection-manager.js";
import { ClusterPolicy } from "../policy/cluster-policy.js";
import { RouteTable } from "../route/route-table.js";
import type { MethodCatalogue } from "../route/method-catalogue.js";
import { Cors } from "../route/cors.js";
import type { RoutingView, Upstream } from "../route/call-plan.js";
import type { Guard } from "../guard/guard.js";
import { GuardState } from "../guard/guard-state.js";

/**
 * Everything one config decides, built once and never changed: routes,
 * clusters with their call policy, the method catalogue, limits, CORS and
 * the guard (auth, rate limits).
 * A call reads the current snapshot once and keeps it to its end; a reload
 * builds a new one and swaps the reference (docs/DESIGN.md, "Snapshots and
 * endpoint sets"), and so does a new lesson from reflection (withMethods).
 */
export interface Snapshot extends RoutingView {
  readonly config: GatewayConfig;
  readonly maxBytes: number;
  readonly cors: Cors;
  /** Authentication and rate limits. */
  readonly guard: Guard;
}

export interface SnapshotInputs {
  /** Owns the endpoint sets that outlive snapshots. */
  clusters: ClusterManager;
  /** Runs the clusters' discovery providers, which outlive snapshots too. */
  discovery?: DiscoveryManager;
  /** Learns APIs from the endpoints of `descriptors: reflection` clusters, across snapshots. */
  reflection?: ReflectionManager;
  /** Descriptor files the embedding program knows (the demo's, from demo.ts). */
  descriptors?: readonly DescFile[];
  /** Keeps JWT key caches, Redis connections and buckets across snapshots; without it each snapshot starts afresh. */
  guards?: GuardState;
  /** What happens to the method catalogue (lessons taken, conflicts), one line each. */
  onEvent?: ClusterEvent;
}

/** Builds the snapshot for `config` and its catalogue, carrying the previous one's per-cluster policy state over. */
export function buildSnapshot(
  config: GatewayConfig,
  inputs: SnapshotInputs,
  methods: MethodCatalogue,
  previous?: Snapshot,
): Snapshot {
  const clusters = inputs.clusters.apply(config.clusters);
  inputs.discovery?.apply(config.clusters);
  inputs.reflection?.apply(config.clusters);
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
    methods,
    maxBytes: config.limits.maxMessageBytes,
    maxJsonDepth: config.limits.maxJsonDepth,
    cors: new Cors(config.cors),
    guard: (inputs.guards ?? new GuardState()).apply(config),
  };
}

/** The same snapshot with another method catalogue: everything else is shared, calls holding `s` keep it. */
export function withMethods(s: Snapshot, methods: MethodCatalogue): Snapshot {
  // Written out key by key: the snapshot's shape stays the one calls see (docs/DESIGN.md, "The hot path").
  return {
    config: s.config,
    routes: s.routes,
    upstreams: s.upstreams,
    methods,
    maxBytes: s.maxBytes,
    cors: s.cors,
    guard: s.guard,
  };
}
