import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import type { ConnectionLimits, GatewayConfig, ListenerConfig } from "./config/types.js";
import { connectionLimitsOf } from "./config/limits.js";
import { Listener, checkTls } from "./listener/listener.js";
import { StreamResponse } from "./listener/stream-exchange.js";
import { ClusterManager } from "./cluster/cluster-manager.js";
import { DiscoveryManager } from "./discovery/discovery-manager.js";
import { ReflectionManager } from "./descriptors/reflection-manager.js";
import { registerReflection } from "./local/reflection.js";
import { CurrentSnapshot } from "./snapshot/current.js";
import { InFlight } from "./proxy/inflight.js";
import { GuardState } from "./guard/guard-state.js";
import { FairShare } from "./proxy/fair-share.js";
import { OverloadGuard } from "./proxy/overload.js";
import { type ProxyState, handleRpc } from "./proxy/call-handler.js";
import { FASTIFY, answerer } from "./proxy/detect.js";
import { startAdmin } from "./admin/admin-server.js";
import { Observability } from "./observe/observability.js";
import type { Endpoint } from "./cluster/endpoint.js";
import type { ClusterEvent } from "./cluster/endpoint-set.js";
import type { Gateway, GatewayOptions } from "./gateway.js";
import {
  type ReloadCounts,
  type ReloadResult,
  describeChanges,
  formatReload,
  listenerAddress,
  listenerKeys,
  planListeners,
  problemsOf,
  rejected,
  stableText,
} from "./snapshot/reload.js";

export type { Gateway, GatewayOptions } from "./gateway.js";

/** One open listener: its server, the Fastify app around it, and whether a reload is draining it. */
interface Served {
  config: ListenerConfig;
  app: FastifyInstance;
  listener: Listener;
  port: number;
  draining: boolean;
  /** Stops taking connections from the primary (a worker's listener). */
  detach?: () => void;
}

export async function startGateway(config: GatewayConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  // Set before any endpoint can report: events from the first snapshot's endpoints are logged too.
  let observability: Observability | undefined;
  const onClusterEvent: ClusterEvent = (message, facts) => {
    observability?.clusterEvent(message, facts);
    opts.onClusterEvent?.(message, facts);
  };
  const clusters = new ClusterManager(onClusterEvent, opts.healthBoard);
  const discovery = new DiscoveryManager(clusters, opts.onDiscoveryEvent ?? onClusterEvent, opts.providers);
  const guards = new GuardState((m) => onClusterEvent(m, { event: "guard" }));
  // Lessons go into a new snapshot as they come; `snapshots` exists before the first one can.
  const reflection = new ReflectionManager(clusters, onClusterEvent, () => snapshots.relearn());
  const snapshots: CurrentSnapshot = new CurrentSnapshot(config, {
    clusters,
    discovery,
    reflection,
    descriptors: opts.descriptors,
    guards,
    onEvent: onClusterEvent,
  });
  const current = () => snapshots.snapshot;
  const inflight = new InFlight();
  const observe = (observability = new Observability(config, {
    endpointsNow: function* () {
      for (const name of current().upstreams.keys()) {
        const set = clusters.endpointSet(name);
        if (set) yield [name, set.list] as readonly [string, readonly Endpoint[]];
      }
    },
    log: opts.log,
    metricsForPrimary: opts.metricsForPrimary,
  }));
  discovery.onUpdate((cluster, ok) => observe.discoveryUpdate(cluster, ok));
  const overload = new OverloadGuard(() => current().config.overload);
  const fair = new FairShare();
  const proxy: ProxyState = {
    current,
    inflight,
    fair,
    overload,
    get observer() {
      return observe.observer;
    },
  };
  let draining = false;

  const open = async (lc: ListenerConfig, key: string): Promise<Served> => {
    const served = { config: lc, draining: false } as Served;
    const app = Fastify({
      ...(opts.log
        ? {
            loggerInstance: opts.log as FastifyBaseLogger,
            // Proxied calls have their own access log; Fastify's routes are the gateway's own.
            logController: new LogController({ disableRequestLogging: true }),
          }
        : { logger: opts.logger ?? false }),
      serverFactory: (fastifyHandler) => {
        // Proxied calls take the lean path straight from the socket: the
        // Fastify lifecycle costs about a quarter of the throughput
        // (docs/DESIGN.md, "The hot path").
        const listener = new Listener(lc, listenerLimits(lc, current().config), {
          request: (req: IncomingMessage, res: ServerResponse) => {
            // The protocol is detected once here and handed on.
            const who = answerer(req);
            if (who === FASTIFY) fastifyHandler(req, res);
            else {
              if ((draining || served.draining) && req.httpVersionMajor < 2) res.setHeader("connection", "close");
              handleRpc(proxy, req, res, who);
            }
          },
          // Proxied HTTP/2 calls skip Node's compat objects too; the rest
          // go on to `request` with compat objects.
          stream: (req, stream) => {
            const who = answerer(req);
            if (who === FASTIFY) return false;
            handleRpc(proxy, req, new StreamResponse(stream, who?.httpTrailers ?? false), who);
            return true;
          },
        });
        served.listener = listener;
        return listener.server as unknown as import("node:http").Server;
      },
    });
    served.app = app;
    try {
      // Services the gateway answers itself (not proxied), on Fastify through
      // connect-fastify: server reflection, from the current snapshot.
      await app.register(fastifyConnectPlugin, {
        routes: (router) =>
          registerReflection(router, () => {
            const s = current();
            return {
              methods: s.methods,
              routed: (svc) => s.methods.pathsOf(svc).some((p) => s.routes.match(p) !== undefined),
            };
          }),
      });
      served.detach = opts.accept?.(lc, key, (socket) => served.listener.server.emit("connection", socket));
      if (served.detach) await app.ready();
      else await app.listen({ port: lc.port, host: lc.host, ...(opts.accept ? { reusePort: true } : {}) });
    } catch (err) {
      served.detach?.();
      served.listener.destroyAll();
      await app.close().catch(() => {});
      throw err;
    }
    // A listener fed by the primary knows the port as configured; the primary reports the bound one.
    served.port = served.detach ? lc.port : (served.listener.server.address() as { port: number }).port;
    return served;
  };

  let served: Served[] = [];
  const keys = listenerKeys(config.listeners);
  for (const [i, lc] of config.listeners.entries()) served.push(await open(lc, keys[i]!));
  /** Listeners a reload removed, still finishing their calls. */
  const retiring = new Map<Served, Promise<void>>();
  const retire = (s: Served) => {
    s.draining = true;
    s.detach?.();
    const done = s.listener
      .drain(current().config.drainTimeoutMs)
      .then(() => s.app.close())
      .catch(() => {})
      .finally(() => retiring.delete(s));
    retiring.set(s, done);
  };

  let reloader: (trigger: string) => Promise<ReloadResult> = async () => rejected(["not started"]);
  const admin = config.admin
    ? await startAdmin(
        config.admin,
        current,
        inflight,
        discovery,
        () => draining,
        (t) => reloader(t),
        observe.metrics,
      )
    : undefined;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      for (const s of served) {
        s.detach?.();
        s.listener.beginDrain();
      }
      const deadline = new Promise((r) => setTimeout(r, current().config.drainTimeoutMs).unref());
      await Promise.race([inflight.idle(), deadline]);
      for (const s of [...served, ...retiring.keys()]) s.listener.destroyAll();
      await Promise.all([...served.map((s) => s.app.close()), ...retiring.values()]);
      await admin?.close();
      await reflection.close();
      overload.close();
      await discovery.close();
      await clusters.close();
      guards.close();
      await observe.close();
    })());

  // Reloads, one at a time: each one sees what the one before it left.
  const reloads: ReloadCounts = { reloaded: 0, unchanged: 0, rejected: 0 };
  let queue: Promise<unknown> = Promise.resolve();
  const reload = (trigger = "reload", load = opts.loadConfig): Promise<ReloadResult> => {
    const run = queue.then(async () => {
      const result = await reloadOnce(load).catch((err: unknown) => rejected(problemsOf(err)));
      // A reload asks the upstreams' reflection again even when the file did not change.
      if (result.status === "unchanged") reflection.refresh();
      reloads[result.status]++;
      if (result.status === "reloaded") observe.reconfigure(current().config);
      observe.reloaded(result, trigger, formatReload(result, trigger));
      opts.onReload?.(result, trigger);
      return result;
    });
    queue = run.catch(() => {});
    return run;
  };
  reloader = (trigger) => reload(trigger);

  const reloadOnce = async (load: (() => Promise<GatewayConfig>) | undefined): Promise<ReloadResult> => {
    if (closing) return rejected(["the gateway is stopping"]);
    if (!load) return rejected(["this gateway was started without a config file to reload from"]);
    let next: GatewayConfig;
    try {
      next = await load();
    } catch (err) {
      return rejected(problemsOf(err));
    }
    if (closing) return rejected(["the gateway is stopping"]);
    const before = current().config;
    // Listeners are compared with what is open, so one that failed to open is tried again.
    const openConfigs = served.map((s) => s.config);
    if (stableText(before) === stableText(next) && stableText(openConfigs) === stableText(next.listeners)) {
      return { status: "unchanged", changed: [], problems: [], notes: [] };
    }

    // What can fail comes first, so a failure leaves everything as it was:
    // certificates that do not serve, addresses that cannot be bound.
    const problems: string[] = [];
    next.listeners.forEach((lc, i) => {
      const why = lc.tls && checkTls(lc.tls);
      if (why) problems.push(`listeners[${i}].tls: cannot serve with this certificate and key: ${why}`);
    });
    if (problems.length) return rejected(problems);
    const plan = planListeners(openConfigs, next.listeners);
    const freed = (lc: ListenerConfig) => lc.port !== 0 && plan.removed.some((r) => r.config.port === lc.port);
    const opened = new Map<number, Served>();
    const nextKeys = listenerKeys(next.listeners);
    for (const a of plan.added) {
      if (freed(a.config)) continue; // its address is free once the old listener closes, below
      try {
        opened.set(a.index, await open(a.config, nextKeys[a.index]!));
      } catch (err) {
        for (const s of opened.values()) retire(s);
        return rejected([
          `listeners[${a.index}]: cannot listen on ${listenerAddress(a.config)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        ]);
      }
    }

    if (closing) {
      for (const s of opened.values()) retire(s);
      return rejected(["the gateway is stopping"]);
    }

    // Commit: new calls start on the new snapshot; calls in flight keep theirs.
    const changed = describeChanges(before, next);
    const notes: string[] = [];
    snapshots.swap(next);
    const nextServed: Array<Served | undefined> = next.listeners.map(() => undefined);
    for (const k of plan.kept) {
      const s = served[k.was];
      if (k.tlsChanged && k.config.tls) s.listener.setTls(k.config.tls);
      s.listener.setLimits(listenerLimits(k.config, next));
      s.config = k.config;
      nextServed[k.index] = s;
    }
    for (const r of plan.removed) retire(served[r.was]);
    for (const [index, s] of opened) nextServed[index] = s;
    for (const a of plan.added) {
      if (!freed(a.config)) continue;
      try {
        nextServed[a.index] = await open(a.config, nextKeys[a.index]!);
      } catch (err) {
        // The old listener on this address is gone; the next reload tries again.
        notes.push(
          `listeners[${a.index}]: cannot listen on ${listenerAddress(a.config)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
    }
    served = nextServed.filter((s): s is Served => s !== undefined);
    if (stableText(before.admin) !== stableText(next.admin))
      notes.push("admin: the admin listener stays where it is until a restart");
    if (stableText(before.metrics) !== stableText(next.metrics))
      notes.push("metrics: collected or not as at start, until a restart (they live with the admin listener)");
    return { status: "reloaded", changed, problems: [], notes };
  };

  return {
    get apps() {
      return served.map((s) => s.app);
    },
    admin,
    current,
    reconfigure: (next) => {
      const s = snapshots.swap(next);
      observe.reconfigure(next);
      return s;
    },
    reload,
    reloads,
    clusters,
    discovery,
    reflection,
    catalogueStatus: () => snapshots.catalogueStatus(),
    observability: observe,
    inflight,
    fair,
    overload,
    get ports() {
      return served.map((s) => s.port);
    },
    adminPort: admin ? (admin.server.address() as { port: number }).port : undefined,
    close,
  };
}

/** A listener's connection limits: its own, else the top-level ones. */
function listenerLimits(lc: ListenerConfig, config: GatewayConfig): ConnectionLimits {
  return lc.limits ?? connectionLimitsOf(config.limits);
}
