import Fastify, { type FastifyInstance } from "fastify";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import type { Snapshot } from "../snapshot/snapshot.js";
import type { DiscoveryManager } from "../discovery/discovery-manager.js";
import type { ReloadResult } from "../snapshot/reload.js";
import { Listener } from "../listener/listener.js";
import { defaultConnectionLimits } from "../config/limits.js";
import { type GroupAnswers, registerAdminService } from "./admin-service.js";
import { NOT_BUILT, dashboardAsset } from "./dashboard-assets.js";

/** What GET /metrics serves: Prometheus's text format and its content type. */
export interface MetricsSource {
  scrape(): Promise<{ contentType: string; body: string }>;
}

/** The proxy listeners' defaults: the admin port faces slow and idle clients too. */
const ADMIN_LIMITS = defaultConnectionLimits();

/** How long open admin connections (a watching dashboard) get to finish when the gateway stops. */
const CLOSE_GRACE_MS = 1000;

/**
 * The admin listener (127.0.0.1 by default): probes, reload, the admin API
 * (switchyard.admin.v1.AdminService over gRPC, gRPC-Web and Connect, so
 * HTTP/1.1 and h2c on one port, as the proxy's listeners) and the dashboard.
 */
export async function startAdmin(
  cfg: { port: number; host: string },
  current: () => Snapshot,
  /** Calls in flight (with workers: the group's, as last reported). */
  inflight: { readonly size: number },
  discovery: DiscoveryManager,
  draining: () => boolean,
  reload: (trigger: string) => Promise<ReloadResult>,
  /** Served as GET /metrics (GatewayMetrics, or the primary's for its group); undefined: metrics off. */
  metrics: MetricsSource | undefined,
  /** What the primary of `workers: N` adds: its GET /workers (registered before the listener opens), the group's answers. */
  primary?: { routes: (app: FastifyInstance) => void; group: GroupAnswers },
): Promise<FastifyInstance> {
  let listener!: Listener;
  const app = Fastify({
    logger: false,
    serverFactory: (handler) => {
      listener = new Listener({ port: cfg.port, host: cfg.host }, ADMIN_LIMITS, {
        request: handler,
        stream: () => false,
      });
      return listener.server as unknown as import("node:http").Server;
    },
  });
  const closing = new AbortController();
  // Watches end first (with OK), then connections get a moment to finish.
  app.addHook("preClose", async () => {
    closing.abort();
    await listener.drain(CLOSE_GRACE_MS);
  });

  await app.register(fastifyConnectPlugin, {
    routes: (router) =>
      registerAdminService(router, { current, reload, draining, closing: closing.signal, group: primary?.group }),
    // Zeros too (priority 0, no calls in flight): an operator reading JSON should not have to know proto3's defaults.
    jsonOptions: { alwaysEmitImplicit: true },
  });

  app.get("/", async (_req, reply) => {
    const page = dashboardAsset("index.html");
    if (!page) return reply.code(503).type("text/plain; charset=utf-8").send(NOT_BUILT);
    return reply.type(page.type).header("cache-control", "no-cache").send(page.body);
  });
  for (const name of ["dashboard.js", "dashboard.js.map"] as const) {
    app.get(`/${name}`, async (_req, reply) => {
      const file = dashboardAsset(name);
      if (!file) return reply.code(404).type("text/plain; charset=utf-8").send(NOT_BUILT);
      return reply.type(file.type).header("cache-control", "no-cache").send(file.body);
    });
  }

  // Browsers ask for it with every page; no icon rather than a 404 in the console.
  app.get("/favicon.ico", async (_req, reply) => reply.code(204).send());

  app.get("/healthz", async () => ({ status: "ok" }));
  // Prometheus's text format, as Envoy's /stats/prometheus and Linkerd's proxy /metrics serve it.
  if (metrics) {
    app.get("/metrics", async (_req, reply) => {
      const { contentType, body } = await metrics.scrape();
      return reply.type(contentType).send(body);
    });
  }
  app.get("/ready", async (_req, reply) => {
    if (draining()) return reply.code(503).send({ status: "draining" });
    // Ready while serving: a failing discovery keeps its last good endpoints, and says so here.
    return {
      status: "ready",
      clusters: [...current().upstreams.keys()],
      inflight: inflight.size,
      discovery: discovery.status(),
    };
  });
  // Reload the config file: 200 reloaded or unchanged, 400 rejected with every problem.
  app.post("/reload", async (_req, reply) => {
    if (draining()) return reply.code(503).send({ status: "draining" });
    const result = await reload("POST /reload");
    return reply.code(result.status === "rejected" ? 400 : 200).send(result);
  });
  for (const method of ["GET", "PUT", "DELETE", "PATCH"] as const) {
    app.route({
      method,
      url: "/reload",
      handler: async (_req, reply) => reply.code(405).header("allow", "POST").send({ error: "use POST /reload" }),
    });
  }
  primary?.routes(app);
  try {
    await app.listen({ port: cfg.port, host: cfg.host });
  } catch (err) {
    listener.destroyAll();
    await app.close().catch(() => {});
    throw err;
  }
  return app;
}
