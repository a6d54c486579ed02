import cluster from "node:cluster";
import type { Socket } from "node:net";
import type { Registry } from "prom-client";
import type { GatewayConfig, ListenerConfig } from "../config/types.js";
import { HealthBoard } from "../cluster/health-board.js";
import { DiscoveryRelay } from "../discovery/relay.js";
import type { ProviderFactory } from "../discovery/discovery-manager.js";
import type { ReloadCounts, ReloadResult } from "../snapshot/reload.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import {
  type DrainedEndpoint,
  type EndpointReport,
  isToWorker,
  type ToPrimary,
  type ToWorker,
  type WorkerReport,
} from "./messages.js";
import type { Endpoint } from "../cluster/endpoint.js";
import { workerShare } from "./share.js";
import { bindsItself } from "./distributor.js";

/** What a worker needs of the gateway it runs (server.ts's Gateway has it). */
export interface WorkerGateway {
  readonly inflight: { readonly size: number };
  readonly reloads: ReloadCounts;
  current(): Snapshot;
  /** The registry the primary adds up for the group's /metrics, when metrics are on. */
  readonly observability: { readonly metrics: { readonly registry: Registry } | undefined };
  reload(trigger: string, load: () => Promise<GatewayConfig>): Promise<ReloadResult>;
  close(): Promise<void>;
}

/** What the worker hands startGateway (server.ts's GatewayOptions has these keys). */
export interface WorkerGatewayOptions {
  onClusterEvent: (message: string) => void;
  onDiscoveryEvent: (message: string) => void;
  healthBoard: HealthBoard;
  providers: ProviderFactory;
  accept: (lc: ListenerConfig, key: string, onConnection: (socket: Socket) => void) => (() => void) | undefined;
  metricsForPrimary: boolean;
}

/** startGateway, passed in by the entry point: server.ts sits above this room. */
export type StartGateway = (config: GatewayConfig, opts: WorkerGatewayOptions) => Promise<WorkerGateway>;

/**
 * The life of a worker process (node:cluster): wait for the primary's start
 * message, serve with that config, follow the primary's discovery answers,
 * health verdicts and reloads, answer its reports, and drain on SIGTERM or
 * SIGINT, or when the primary is gone. The worker owns its connections,
 * calls, breakers, EWMA and outlier state; it runs no health check and no
 * discovery provider of its own.
 */
export function runWorker(start: StartGateway): void {
  const startedAt = new Date().toISOString();
  const send = (m: ToPrimary, then?: () => void) => {
    if (process.connected) process.send!(m, undefined, undefined, then);
    else then?.();
  };
  const board = new HealthBoard();
  const relay = new DiscoveryRelay((cluster) => send({ type: "switchyard:nudge", cluster }));
  let id = cluster.worker?.id ?? 0;
  let workers = 1;
  let gateway: WorkerGateway | undefined;
  let draining = false;
  const log = (m: string) => console.log(`[${new Date().toISOString()}] worker ${id}: ${m}`);
  let reusePort = false;
  /** The listeners that take connections from the primary, by listenerKeys name. */
  const accepting = new Map<string, (socket: Socket) => void>();
  const accept: WorkerGatewayOptions["accept"] = (lc, key, onConnection) => {
    if (bindsItself(lc, reusePort)) return undefined;
    accepting.set(key, onConnection);
    return () => {
      if (accepting.get(key) === onConnection) accepting.delete(key);
    };
  };
  /** Drains that came before the gateway served (the start message's, then later ones), applied once it does. */
  let drains: Array<DrainedEndpoint & { on: boolean }> = [];
  const setDrained = (d: DrainedEndpoint, on: boolean): Endpoint | undefined =>
    gateway?.current().upstreams.get(d.cluster)?.cluster.endpoints.setDrained(d.address, on);
  // Start and reloads run one after another, in the order they came.
  let queue: Promise<unknown> = Promise.resolve();
  const inOrder = (f: () => Promise<void>) => {
    queue = queue.then(f).catch((err: unknown) => log(`unexpected: ${err instanceof Error ? err.stack : err}`));
  };

  const onStart = (m: Extract<ToWorker, { type: "switchyard:start" }>) =>
    inOrder(async () => {
      id = m.worker;
      workers = m.workers;
      reusePort = m.reusePort;
      board.replace(m.unhealthy);
      for (const l of m.discovered) relay.list(l);
      drains = [...m.drained.map((d) => ({ ...d, on: true })), ...drains];
      try {
        gateway = await start(workerShare(m.config, workers), {
          onClusterEvent: log,
          // The primary logs what discovery finds, once.
          onDiscoveryEvent: () => {},
          healthBoard: board,
          providers: relay.factory,
          accept,
          metricsForPrimary: true,
        });
      } catch (err) {
        send({ type: "switchyard:failed", message: err instanceof Error ? err.message : String(err) }, () =>
          process.exit(1),
        );
        return;
      }
      for (const d of drains.splice(0)) setDrained(d, d.on);
      // Told to stop while starting: stop() closes it once this task is done.
      if (draining) return;
      send({ type: "switchyard:serving" });
    });

  const onReload = (m: Extract<ToWorker, { type: "switchyard:reload" }>) =>
    inOrder(async () => {
      const result: ReloadResult = gateway
        ? await gateway.reload(m.trigger, async () => workerShare(m.config, workers))
        : { status: "rejected", changed: [], problems: ["this worker is not serving"], notes: [] };
      send({ type: "switchyard:reloaded", seq: m.seq, result });
    });

  const endpointReport = (e: Endpoint): EndpointReport => ({
    address: e.address,
    unavailable: e.unavailableReason(),
    breaker: e.breaker.state,
    inflight: e.inflight,
    ejected: e.ejected,
    ejections: e.outlier.ejections,
    window: e.stats.window(),
  });

  const onDrain = (m: Extract<ToWorker, { type: "switchyard:drain" }>) => {
    let endpoint: EndpointReport | undefined;
    if (gateway) {
      const ep = setDrained(m, m.on);
      endpoint = ep && endpointReport(ep);
    } else drains.push({ cluster: m.cluster, address: m.address, on: m.on });
    send({ type: "switchyard:drained", seq: m.seq, endpoint });
  };

  const report = (): WorkerReport => ({
    worker: id,
    pid: process.pid,
    startedAt,
    state: draining ? "draining" : gateway ? "serving" : "starting",
    inflight: gateway?.inflight.size ?? 0,
    reloads: gateway ? { ...gateway.reloads } : { reloaded: 0, unchanged: 0, rejected: 0 },
    clusters: gateway
      ? [...gateway.current().upstreams].map(([name, u]) => ({
          name,
          ...u.policy.rates.read(),
          endpoints: u.cluster.endpoints.list.map(endpointReport),
        }))
      : [],
  });

  process.on("message", (m: unknown, socket?: Socket) => {
    if (!isToWorker(m)) return;
    switch (m.type) {
      case "switchyard:connection": {
        // A listener this worker no longer has (drained, or reloaded away): the client reconnects.
        const take = accepting.get(m.listener);
        if (socket) {
          if (take) take(socket);
          else socket.destroy();
        }
        return send({ type: "switchyard:took", seq: m.seq });
      }
      case "switchyard:start":
        return onStart(m);
      case "switchyard:reload":
        return onReload(m);
      case "switchyard:discovered":
        return relay.list(m.list);
      case "switchyard:health":
        return board.replace(m.unhealthy);
      case "switchyard:report":
        return send({ type: "switchyard:report", seq: m.seq, report: report() });
      case "switchyard:drain":
        return onDrain(m);
      case "switchyard:metrics": {
        const registry = gateway?.observability.metrics?.registry;
        if (!registry) return send({ type: "switchyard:metrics", seq: m.seq, metrics: undefined });
        void registry.getMetricsAsJSON().then(
          (metrics) => send({ type: "switchyard:metrics", seq: m.seq, metrics }),
          () => send({ type: "switchyard:metrics", seq: m.seq, metrics: undefined }),
        );
        return;
      }
    }
  });

  send({ type: "switchyard:hello" });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      draining = true;
      // A start under way finishes first; then its listeners drain like the others.
      await queue;
      await gateway?.close();
      process.exit(0);
    })());
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  // The primary reloads and tells every worker; a SIGHUP sent to the whole
  // process group (a terminal closing) must not kill workers.
  process.on("SIGHUP", () => {});
  // The primary is gone (killed): nobody hands this worker connections or
  // config any more.
  process.on("disconnect", () => void stop());
}
