import Fastify, { type FastifyInstance } from "fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatewayConfig } from "./config/types.js";
import { Listener } from "./listener/listener.js";
import { StreamResponse } from "./listener/stream-exchange.js";
import { RouteTable } from "./route/route-table.js";
import { Cluster } from "./cluster/cluster.js";
import { MethodRegistry } from "./transcode/registry.js";
import { InFlight } from "./proxy/inflight.js";
import { type ProxyState, handleRpc } from "./proxy/call-handler.js";
import { FASTIFY, LOCAL, answerer } from "./proxy/detect.js";
import { Cors } from "./proxy/cors.js";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { registerReflection } from "./local/reflection.js";

export interface Gateway {
  /** One Fastify app per listener; proxied calls bypass its request lifecycle. */
  apps: FastifyInstance[];
  admin: FastifyInstance | undefined;
  state: ProxyState;
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
}

export async function startGateway(config: GatewayConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const state: ProxyState = {
    routes: new RouteTable(config.routes),
    clusters: new Map([...config.clusters].map(([name, c]) => [name, new Cluster(c, opts.onClusterEvent)])),
    methods: new MethodRegistry(config.descriptorSets),
    maxBytes: config.limits.maxMessageBytes,
    cors: new Cors(config.cors.allowedOrigins),
    inflight: new InFlight(),
  };
  for (const c of state.clusters.values()) c.start();
  // Services the gateway answers itself (not proxied): server reflection.
  const local = connectNodeAdapter({
    routes: (router) =>
      registerReflection(router, state.methods, (svc) => state.methods.pathsOf(svc).some((p) => state.routes.match(p) !== undefined)),
  });
  let draining = false;
  const listeners: Listener[] = [];
  const apps: FastifyInstance[] = [];
  for (const lc of config.listeners) {
    const app = Fastify({
      logger: opts.logger ?? false,
      serverFactory: (fastifyHandler) => {
        // Proxied calls take the lean path straight from the socket: the
        // Fastify lifecycle costs about a quarter of the throughput
        // (DESIGN.md, "What the hot path may cost").
        const listener = new Listener(lc, {
          request: (req: IncomingMessage, res: ServerResponse) => {
            // The protocol is detected once here and handed on.
            const who = answerer(req);
            if (who === LOCAL) local(req, res);
            else if (who === FASTIFY) fastifyHandler(req, res);
            else {
              if (draining && req.httpVersionMajor < 2) res.setHeader("connection", "close");
              handleRpc(state, req, res, who);
            }
          },
          // Proxied HTTP/2 calls skip Node's compat objects too; the rest
          // go on to `request` with compat objects.
          stream: (req, stream) => {
            const who = answerer(req);
            if (who === LOCAL || who === FASTIFY) return false;
            handleRpc(state, req, new StreamResponse(stream), who);
            return true;
          },
        });
        listeners.push(listener);
        return listener.server as unknown as import("node:http").Server;
      },
    });
    app.get("/", async (_req, reply) => {
      reply.type("text/plain; charset=utf-8");
      return landingText(config);
    });
    await app.listen({ port: lc.port, host: lc.host });
    apps.push(app);
  }
  const admin = config.admin ? await startAdmin(config.admin, state, () => draining) : undefined;
  const ports = listeners.map((l) => (l.server.address() as { port: number }).port);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      for (const l of listeners) l.beginDrain();
      const deadline = new Promise((r) => setTimeout(r, config.drainTimeoutMs).unref());
      await Promise.race([state.inflight.idle(), deadline]);
      for (const l of listeners) l.destroyAll();
      await Promise.all(apps.map((a) => a.close()));
      await admin?.close();
      await Promise.all([...state.clusters.values()].map((c) => c.close()));
    })());
  return { apps, admin, state, ports, adminPort: admin ? (admin.server.address() as { port: number }).port : undefined, close };
}

async function startAdmin(cfg: { port: number; host: string }, state: ProxyState, draining: () => boolean): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/ready", async (_req, reply) => {
    if (draining()) return reply.code(503).send({ status: "draining" });
    return { status: "ready", clusters: [...state.clusters.keys()], inflight: state.inflight.size };
  });
  await app.listen({ port: cfg.port, host: cfg.host });
  return app;
}

function landingText(config: GatewayConfig): string {
  const services = config.routes.map((r) => `  ${JSON.stringify(r.match)} -> cluster ${r.cluster}`).join("\n");
  return `Switchyard gateway: gRPC, gRPC-Web and Connect on this port.\nRoutes:\n${services}\n`;
}
