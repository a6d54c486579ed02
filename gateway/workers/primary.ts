import cluster from "node:cluster";
import type { FastifyInstance } from "fastify";
import type { DescFile } from "@bufbuild/protobuf";
import type { GatewayConfig } from "../config/types.js";
import { ClusterManager } from "../cluster/cluster-manager.js";
import { DiscoveryManager } from "../discovery/discovery-manager.js";
import { DiscoveryTap } from "../discovery/relay.js";
import { reusePortSupport } from "../listener/reuse-port.js";
import { checkTls } from "../listener/listener.js";
import { CurrentSnapshot } from "../snapshot/current.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import {
  type ReloadCounts,
  type ReloadResult,
  describeChanges,
  listenerKeys,
  problemsOf,
  rejected,
  stableText,
} from "../snapshot/reload.js";
import { startAdmin } from "../admin/admin-server.js";
import type { GroupAnswers } from "../admin/admin-service.js";
import type { ClustersView } from "../admin/cluster-view.js";
import type { DrainedEndpoint, WorkerReport } from "./messages.js";
import { groupClustersView, groupEndpointView, reportJson } from "./group-view.js";
import { GatewayMetrics, type WorkersSay } from "../observe/metrics.js";
import { GroupMetrics, workersSayOf } from "./group-metrics.js";
import { Supervisor, type WorkerInfo } from "./supervisor.js";
import { combineReloads } from "./combine.js";
import { Distributor } from "./distributor.js";

export interface PrimaryOptions {
  /** How many workers (workers/share.ts resolved "auto"). */
  count: number;
  /** Where a reload reads the config from (the --config file, with --port applied). */
  loadConfig?: () => Promise<GatewayConfig>;
  /** Descriptor files known without a descriptor set (the admin view's method catalogue). */
  descriptors?: readonly DescFile[];
  /** Discovery, health and worker lines. */
  log: (message: string) => void;
  /** Every reload's outcome for the group. */
  onReload?: (result: ReloadResult, trigger: string) => void;
}

/** The process group from the primary's side; what cli.ts needs of a Gateway, for all workers. */
export interface Primary {
  /** The listeners' ports, as the workers bound them. */
  readonly ports: number[];
  readonly adminPort: number | undefined;
  /** GET /metrics on the admin listener serves the group's metrics. */
  readonly metrics: boolean;
  current(): Snapshot;
  /** Loads the config, hands it to every worker (each reloads as Gateway.reload() does) and reports for the group. */
  reload(trigger?: string): Promise<ReloadResult>;
  readonly reloads: ReloadCounts;
  workers(): WorkerInfo[];
  /** Every worker's own report (the seam for group-wide admin answers and metrics). */
  report(): Promise<WorkerReport[]>;
  /** SIGTERM to every worker (each drains its calls), then the primary's own parts. */
  close(): Promise<void>;
}

/** How long a worker may take to answer a report. */
const REPORT_TIMEOUT_MS = 2000;
/**
 * How long the admin API's group view waits for workers: under WatchClusters'
 * tick, so a dying worker leaves a gap in the numbers, not in the stream.
 */
const VIEW_TIMEOUT_MS = 500;
/** Beyond drainTimeout, how long workers may take to exit before they are killed. */
const EXIT_GRACE_MS = 5000;

/**
 * The primary process with `workers: N`: it forks the workers and owns what
 * is done once for all of them (as Envoy's main thread does): discovery,
 * active health checks, config reloads and the admin listener. What those
 * find goes to every worker over IPC (messages.ts): discovery answers to
 * each worker's endpoint sets, the list of endpoints failing their checks to
 * each worker's health board, a reloaded config to each worker's
 * Gateway.reload(). The primary serves no calls: it accepts connections and
 * hands them to the workers round-robin (distributor.ts), or each worker
 * binds the port itself with reusePort.
 */
export async function startPrimary(config: GatewayConfig, opts: PrimaryOptions): Promise<Primary> {
  // The structured clone: a GatewayConfig has Maps and Uint8Arrays.
  cluster.setupPrimary({ serialization: "advanced" });
  const reusePort = reusePortSupport();
  config.listeners.forEach((l, i) => {
    if (!l.reusePort) return;
    if (!reusePort.ok) opts.log(`listeners[${i}].reusePort: ${reusePort.why}; connections are handed round-robin`);
    else if (l.port === 0) opts.log(`listeners[${i}].reusePort: not with port 0; connections are handed round-robin`);
  });

  let supervisor: Supervisor | undefined;
  const distributor = new Distributor(() => supervisor?.targets() ?? []);
  let sentHealth = "[]";
  const sendHealth = () => {
    const unhealthy = clusters.unhealthy();
    const text = stableText(unhealthy);
    if (text === sentHealth) return;
    sentHealth = text;
    supervisor?.broadcast({ type: "switchyard:health", unhealthy });
  };
  // Health verdicts come with a cluster event; the list goes out when it changed.
  const clusters = new ClusterManager((m) => {
    opts.log(m);
    sendHealth();
  });
  const tap = new DiscoveryTap((list) => supervisor?.broadcast({ type: "switchyard:discovered", list }));
  const discovery = new DiscoveryManager(clusters, opts.log, tap.factory);
  // The primary's own metrics (its process, reloads, discovery, the group's endpoint gauges); /metrics adds the workers'.
  let workersSay: WorkersSay = () => undefined;
  const metrics =
    config.metrics?.enabled && config.admin
      ? new GatewayMetrics(
          function* () {
            for (const name of current().upstreams.keys()) {
              const set = clusters.endpointSet(name);
              if (set) yield [name, set.list] as const;
            }
          },
          (cluster, address) => workersSay(cluster, address),
        )
      : undefined;
  if (metrics) discovery.onUpdate((cluster, ok) => metrics.discoveryUpdate(cluster, ok));
  const snapshots = new CurrentSnapshot(config, { clusters, discovery, descriptors: opts.descriptors });
  const current = () => snapshots.snapshot;
  // An operator's drains live in the primary's endpoint sets (admin API); a new worker starts with them.
  const drained = (): DrainedEndpoint[] =>
    [...current().upstreams].flatMap(([cluster, u]) =>
      u.cluster.endpoints.drainedAddresses().map((address) => ({ cluster, address })),
    );

  // Reloads one at a time; a worker starts only between them, so it gets the config every other worker has.
  let queue: Promise<unknown> = Promise.resolve();
  supervisor = new Supervisor({
    count: opts.count,
    startMessage: (id) => ({
      type: "switchyard:start",
      worker: id,
      workers: opts.count,
      config: current().config,
      discovered: tap.latest(),
      unhealthy: clusters.unhealthy(),
      drained: drained(),
      reusePort: reusePort.ok,
    }),
    onMessage: (m, worker) => {
      if (m.type === "switchyard:took") distributor.took(worker, m.seq);
      else if (m.type === "switchyard:nudge") discovery.nudge(m.cluster);
    },
    onServing: () => distributor.wake(),
    onExit: (worker) => distributor.gone(worker),
    log: opts.log,
    gate: () => queue,
  });
  const workers = supervisor;

  const closeParts = async () => {
    distributor.closeAll();
    await discovery.close();
    await clusters.close();
  };
  // The ports first: one that cannot be bound stops the start before any worker is forked.
  try {
    (await distributor.follow(config.listeners, reusePort.ok)).release();
    await workers.start();
  } catch (err) {
    await closeParts();
    throw err;
  }
  const portsOf = (c: GatewayConfig) => {
    const keys = listenerKeys(c.listeners);
    return c.listeners.map((lc, i) => distributor.port(keys[i]!) ?? lc.port);
  };

  const report = async (timeoutMs = REPORT_TIMEOUT_MS): Promise<WorkerReport[]> => {
    const answers = await workers.ask((seq) => ({ type: "switchyard:report", seq }), timeoutMs);
    return [...answers.values()].flatMap((a) => (a?.type === "switchyard:report" ? [a.report] : []));
  };
  // The admin API for the group: every watch's tick shares one view being made.
  let viewing: Promise<ClustersView> | undefined;
  const view = () => report(VIEW_TIMEOUT_MS).then((rs) => groupClustersView(current(), rs));
  const group: GroupAnswers = {
    clusters: (shared) => {
      if (!shared) return view();
      return (viewing ??= view().finally(() => (viewing = undefined)));
    },
    setDrained: async (ep, cluster, on) => {
      const answers = await workers.ask(
        (seq) => ({ type: "switchyard:drain", seq, cluster, address: ep.address, on }),
        REPORT_TIMEOUT_MS,
      );
      const reports = [...answers.values()].flatMap((a) =>
        a?.type === "switchyard:drained" && a.endpoint ? [a.endpoint] : [],
      );
      return groupEndpointView(ep, reports);
    },
  };
  // /ready's in-flight count: the group's, as of the last report (a second old at most).
  let inflight = 0;
  const poll = setInterval(() => {
    void report().then((rs) => (inflight = rs.reduce((n, r) => n + r.inflight, 0)));
  }, 1000);
  poll.unref();

  const reloads: ReloadCounts = { reloaded: 0, unchanged: 0, rejected: 0 };
  let closing: Promise<void> | undefined;
  const reloadOnce = async (trigger: string): Promise<ReloadResult> => {
    if (closing) return rejected(["the gateway is stopping"]);
    if (!opts.loadConfig) return rejected(["this gateway was started without a config file to reload from"]);
    let next: GatewayConfig;
    try {
      next = await opts.loadConfig();
    } catch (err) {
      return rejected(problemsOf(err));
    }
    if (closing) return rejected(["the gateway is stopping"]);
    const before = current().config;
    // What can fail comes first, as in Gateway.reload(): certificates, then the ports this process binds.
    const problems: string[] = [];
    next.listeners.forEach((lc, i) => {
      const why = lc.tls && checkTls(lc.tls);
      if (why) problems.push(`listeners[${i}].tls: cannot serve with this certificate and key: ${why}`);
    });
    if (problems.length) return rejected(problems);
    let listening: Awaited<ReturnType<Distributor["follow"]>>;
    try {
      listening = await distributor.follow(next.listeners, reusePort.ok);
    } catch (err) {
      return rejected(problemsOf(err));
    }
    const answers = await workers.ask(
      (seq) => ({ type: "switchyard:reload", seq, trigger, config: next }),
      next.drainTimeoutMs + 60_000,
    );
    const result = combineReloads(
      [...answers].map(([id, a]) => [id, a?.type === "switchyard:reloaded" ? a.result : undefined]),
      describeChanges(before, next),
    );
    if (result.status === "rejected") await listening.undo();
    else listening.release();
    // The primary follows when workers serve the new config: its discovery and health checks, its admin view.
    if (result.status !== "rejected") {
      if (stableText(before) !== stableText(next)) {
        snapshots.swap(next);
        sendHealth();
      }
      if (stableText(before.admin) !== stableText(next.admin))
        result.notes.push("admin: the admin listener stays where it is until a restart");
      if ((before.workers ?? 1) !== (next.workers ?? 1))
        result.notes.push(`workers: ${opts.count} workers serve until a restart`);
    }
    return result;
  };
  const reload = (trigger = "reload"): Promise<ReloadResult> => {
    const run = queue.then(async () => {
      const result = await reloadOnce(trigger).catch((err: unknown) => rejected(problemsOf(err)));
      reloads[result.status]++;
      metrics?.reloaded(result.status);
      opts.onReload?.(result, trigger);
      return result;
    });
    queue = run.catch(() => {});
    return run;
  };

  const admin = config.admin
    ? await startAdmin(
        config.admin,
        current,
        {
          get size() {
            return inflight;
          },
        },
        discovery,
        () => closing !== undefined,
        (t) => reload(t),
        metrics &&
          new GroupMetrics({
            own: metrics,
            ask: async () => {
              const answers = await workers.ask((seq) => ({ type: "switchyard:metrics", seq }), REPORT_TIMEOUT_MS);
              return new Map(
                [...answers].map(([id, a]) => [id, a?.type === "switchyard:metrics" ? a.metrics : undefined]),
              );
            },
            alive: () => workers.list().map((w) => w.id),
            refresh: async () => {
              workersSay = workersSayOf(groupClustersView(current(), await report()));
            },
          }),
        {
          routes: (app: FastifyInstance) => {
            // The group, one entry per worker: its pid, state, calls in flight and endpoint states.
            app.get("/workers", async () => {
              const reports = new Map((await report()).map((r) => [r.worker, reportJson(r)]));
              return {
                workers: workers.list().map((w) => reports.get(w.id) ?? { worker: w.id, pid: w.pid, state: w.state }),
              };
            });
          },
          group,
        },
      ).catch(async (err: unknown) => {
        await workers.stop(0);
        await closeParts();
        throw err;
      })
    : undefined;

  const close = () =>
    (closing ??= (async () => {
      clearInterval(poll);
      // No new connections; then each worker drains the ones it has.
      distributor.closeAll();
      await workers.stop(current().config.drainTimeoutMs + EXIT_GRACE_MS);
      await admin?.close();
      await closeParts();
    })());

  return {
    get ports() {
      return portsOf(current().config);
    },
    adminPort: admin ? (admin.server.address() as { port: number }).port : undefined,
    metrics: admin !== undefined && metrics !== undefined,
    current,
    reload,
    reloads,
    workers: () => workers.list(),
    report,
    close,
  };
}
