import Fastify, { type FastifyInstance } from "fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DescFile } from "@bufbuild/protobuf";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import type { GatewayConfig } from "./config/types.js";
import { Listener } from "./listener/listener.js";
import { StreamResponse } from "./listener/stream-exchange.js";
import { ClusterManager } from "./cluster/cluster-manager.js";
import { registerReflection } from "./local/reflection.js";
import { CurrentSnapshot } from "./snapshot/current.js";
import type { Snapshot } from "./snapshot/snapshot.js";
import { InFlight } from "./proxy/inflight.js";
import { handleRpc } from "./proxy/call-handler.js";
import { FASTIFY, answerer } from "./proxy/detect.js";

export interface Gateway {
  /** One Fastify app per listener; proxied calls bypass its request lifecycle. */
  apps: FastifyInstance[];
  admin: FastifyInstance | undefined;
  /** The config snapshot calls start on now. */
  current(): Snapshot;
  /** Builds a snapshot of `config` and makes it current; calls in flight keep theirs. */
  reconfigure(config: GatewayConfig): Snapshot;
  /** Owns each cluster's endpoint set, across snapshots. */
  clusters: ClusterManager;
  inflight: InFlight;
  /** Bound ports, in listener order (useful with port 0). */
  ports: number[];
  adminPort: number | undefined;
  /** Graceful stop: refuse new calls, let in-flight ones finish up to drainTimeout, close everything. */
  close(): Promise<void>;
}

export interface GatewayOptions {
  logger?: boolean;
  /** Endpoint health, ejections and breaker changes, as one line each. */
  onClusterEvent?: (message: string) => void;
  /** Descriptor files the gateway knows without a descriptor set (demo.ts hands in the demo's). */
  descriptors?: readonly DescFile[];
}

export async function startGateway(config: GatewayConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const clusters = new ClusterManager(opts.onClusterEvent);
  const snapshots = new CurrentSnapshot(config, { clusters, descriptors: opts.descriptors });
  const current = () => snapshots.snapshot;
  const inflight = new InFlight();
  const proxy = { current, inflight };
  let draining = false;
  const listeners: Listener[] = [];
  const apps: FastifyInstance[] = [];
  for (const lc of config.listeners) {
    const app = Fastify({
      logger: opts.logger ?? false,
      serverFactory: (fastifyHandler) => {
        // Proxied calls take the lean path straight from the socket: the
        // Fastify lifecycle costs about a quarter of the throughput
        // (docs/DESIGN.md, "The hot path").
        const listener = new Listener(lc, {
          request: (req: IncomingMessage, res: ServerResponse) => {
            // The protocol is detected once here and handed on.
            const who = answerer(req);
            if (who === FASTIFY) fastifyHandler(req, res);
            else {
              if (draining && req.httpVersionMajor < 2) res.setHeader("connection", "close");
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
        listeners.push(listener);
        return listener.server as unknown as import("node:http").Server;
      },
    });
    // Services the gateway answers itself (not proxied), on Fastify through
    // connect-fastify: server reflection, from the current snapshot.
    await app.register(fastifyConnectPlugin, {
      routes: (router) =>
        registerReflection(router, () => {
          const s = current();
          return { methods: s.methods, routed: (svc) => s.methods.pathsOf(svc).some((p) => s.routes.match(p) !== undefined) };
        }),
    });
    app.get("/", async (_req, reply) => {
      reply.type("text/plain; charset=utf-8");
      return landingText(current().config);
    });
    await app.listen({ port: lc.port, host: lc.host });
    apps.push(app);
  }
  const admin = config.admin ? await startAdmin(config.admin, current, inflight, () => draining) : undefined;
  const ports = listeners.map((l) => (l.server.address() as { port: number }).port);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      for (const l of listeners) l.beginDrain();
      const deadline = new Promise((r) => setTimeout(r, config.drainTimeoutMs).unref());
      await Promise.race([inflight.idle(), deadline]);
      for (const l of listeners) l.destroyAll();
      await Promise.all(apps.map((a) => a.close()));
      await admin?.close();
      await clusters.close();
    })());
  return {
    apps,
    admin,
    current,
    reconfigure: (next) => snapshots.swap(next),
    clusters,
    inflight,
    ports,
    adminPort: admin ? (admin.server.address() as { port: number }).port : undefined,
    close,
  };
}

async function startAdmin(cfg: { port: number; host: string }, current: () => Snapshot, inflight: InFlight, draining: () => boolean): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/ready", async (_req, reply) => {
    if (draining()) return reply.code(503).send({ status: "draining" });
    return { status: "ready", clusters: [...current().upstreams.keys()], inflight: inflight.size };
  });
  await app.listen({ port: cfg.port, host: cfg.host });
  return app;
}

function landingText(config: GatewayConfig): string {
  const services = config.routes.map((r) => `  ${JSON.stringify(r.match)} -> cluster ${r.cluster}`).join("\n");
  return `Switchyard gateway: gRPC, gRPC-Web and Connect on this port.\nRoutes:\n${services}\n`;
}
