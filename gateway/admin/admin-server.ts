import Fastify, { type FastifyInstance } from "fastify";
import type { Snapshot } from "../snapshot/snapshot.js";
import type { InFlight } from "../proxy/inflight.js";
import type { DiscoveryManager } from "../discovery/discovery-manager.js";
import type { ReloadResult } from "../snapshot/reload.js";
import type { GatewayMetrics } from "../observe/metrics.js";

/** The admin listener (127.0.0.1 by default): probes, reload, and what operators look at. */
export async function startAdmin(
  cfg: { port: number; host: string },
  current: () => Snapshot,
  inflight: InFlight,
  discovery: DiscoveryManager,
  draining: () => boolean,
  reload: (trigger: string) => Promise<ReloadResult>,
  metrics?: GatewayMetrics,
): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
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
  await app.listen({ port: cfg.port, host: cfg.host });
  return app;
}
