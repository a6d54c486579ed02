import type { FastifyInstance } from "fastify";
import type { Socket } from "node:net";
import type { DescFile } from "@bufbuild/protobuf";
import type { GatewayConfig, ListenerConfig } from "./config/types.js";
import type { ClusterManager } from "./cluster/cluster-manager.js";
import type { DiscoveryManager, ProviderFactory } from "./discovery/discovery-manager.js";
import type { ReflectionManager } from "./descriptors/reflection-manager.js";
import type { HealthBoard } from "./cluster/health-board.js";
import type { CatalogueStatus } from "./snapshot/catalogue.js";
import type { Snapshot } from "./snapshot/snapshot.js";
import type { InFlight } from "./proxy/inflight.js";
import type { FairShare } from "./proxy/fair-share.js";
import type { OverloadGuard } from "./proxy/overload.js";
import type { Observability } from "./observe/observability.js";
import type { Logger } from "./observe/logger.js";
import type { ClusterEvent } from "./cluster/endpoint-set.js";
import type { ReloadCounts, ReloadResult } from "./snapshot/reload.js";

// The gateway's contract with its entry points (cli.ts, workers, the bench,
// the tests): what startGateway() (server.ts) takes and gives back.

export interface Gateway {
  /** One Fastify app per listener, in listener order; proxied calls bypass its request lifecycle. */
  readonly apps: FastifyInstance[];
  admin: FastifyInstance | undefined;
  /** The config snapshot calls start on now. */
  current(): Snapshot;
  /** Builds a snapshot of `config` and makes it current; calls in flight keep theirs. Listeners stay as they are (see reload). */
  reconfigure(config: GatewayConfig): Snapshot;
  /**
   * Hot reload (SIGHUP, --watch, POST /reload): loads the config again
   * (`load`, else the `loadConfig` option), and when it is valid and differs,
   * swaps the snapshot and opens, drains or re-keys listeners to match. A
   * rejected config changes nothing. One reload runs at a time.
   */
  reload(trigger?: string, load?: () => Promise<GatewayConfig>): Promise<ReloadResult>;
  /** How many reloads ended each way. */
  readonly reloads: ReloadCounts;
  /** Owns each cluster's endpoint set, across snapshots. */
  clusters: ClusterManager;
  /** Runs the clusters' discovery providers. */
  discovery: DiscoveryManager;
  /** Learns the APIs of `descriptors: reflection` clusters from their endpoints. */
  reflection: ReflectionManager;
  /** What reflection taught the method catalogue, any conflict it refused, and how each endpoint answers (for the admin API). */
  catalogueStatus(): CatalogueStatus;
  /** Metrics (and what else observes calls). */
  observability: Observability;
  inflight: InFlight;
  /** Clusters' capacity shared fairly among downstream connections. */
  fair: FairShare;
  /** Refuses new calls while the process is overloaded (config `overload`). */
  overload: OverloadGuard;
  /** Bound ports, in listener order (useful with port 0). */
  readonly ports: number[];
  adminPort: number | undefined;
  /** Graceful stop: refuse new calls, let in-flight ones finish up to drainTimeout, close everything. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  /** Fastify's own logging when no `log` is given (off by default). */
  logger?: boolean;
  /**
   * Where the gateway logs (pino; the CLI's goes to stdout): endpoint,
   * discovery and reload events as structured lines, access lines when
   * `logging.access` says so, and Fastify's errors. Without it the gateway
   * logs nothing.
   */
  log?: Logger;
  /** Endpoint health, ejections, breaker and discovery changes, as one line each (and their facts). */
  onClusterEvent?: ClusterEvent;
  /** Descriptor files the gateway knows without a descriptor set (demo.ts hands in the demo's). */
  descriptors?: readonly DescFile[];
  /** Where a reload reads the config from (the CLI: the --config file, with --port applied). */
  loadConfig?: () => Promise<GatewayConfig>;
  /** Every reload's outcome, whatever triggered it (formatReload makes the log line). */
  onReload?: (result: ReloadResult, trigger: string) => void;
  // A worker process (workers/worker.ts) gets these three: the primary runs
  // discovery and health checks, and logs what they find, for all workers.
  /** Endpoints follow this board instead of running health checks. */
  healthBoard?: HealthBoard;
  /** Makes the discovery providers (default: the real ones, discovery/create-provider.ts). */
  providers?: ProviderFactory;
  /** Discovery's log lines (default: onClusterEvent). */
  onDiscoveryEvent?: ClusterEvent;
  /**
   * A worker's listeners: instead of binding the port, take the connections
   * the primary accepted for the listener called `key` (listenerKeys), and
   * return how to stop; or return undefined, and the listener binds the port
   * itself with SO_REUSEPORT (where listener/reuse-port.ts says it can).
   */
  accept?: (lc: ListenerConfig, key: string, onConnection: (socket: Socket) => void) => (() => void) | undefined;
  /** A worker of `workers: N`: collect metrics for the primary, which serves the group's /metrics. */
  metricsForPrimary?: boolean;
}
