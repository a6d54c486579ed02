import { afterEach, describe, expect, it } from "vitest";
import { startReplica, type Replica } from "../../services/replica.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { demoDescriptors } from "../../gateway/demo.js";
import type { GatewayConfig } from "../../gateway/config/types.js";
import { CLIENT_KINDS, echoClient } from "../helpers/clients.js";
import { clusterConfig, endpointAt } from "../helpers/cluster-config.js";
import { defaultLimits, defaultOverload } from "../../gateway/config/limits.js";

// A config swap while calls run, over real sockets: the calls in flight keep
// the snapshot (and the endpoint) they started on; new calls see the new one.

const grpc = CLIENT_KINDS[0];
let replicas: Replica[] = [];
let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
});

function config(routeTo: string, clusters: Record<string, Replica[]>): GatewayConfig {
  return {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    limits: { ...defaultLimits(), maxMessageBytes: 1 << 20 },
    overload: defaultOverload(),
    drainTimeoutMs: 1000,
    descriptorSets: [],
    cors: { allowedOrigins: [], allowCredentials: false },
    clusters: new Map(
      Object.entries(clusters).map(([name, rs]) => [
        name,
        clusterConfig(
          rs.map((r) => endpointAt(r.port)),
          { name },
        ),
      ]),
    ),
    routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: routeTo }],
  };
}

async function start(cfg: GatewayConfig): Promise<string> {
  gateway = await startGateway(cfg, { descriptors: demoDescriptors });
  return `http://127.0.0.1:${gateway.ports[0]}`;
}

describe("reconfigure while calls run", () => {
  it("a stream in flight finishes on the old route and endpoint; new calls take the new route", async () => {
    replicas = await Promise.all(["r1", "r2"].map((name) => startReplica({ name })));
    const [r1, r2] = replicas;
    const url = await start(config("a", { a: [r1], b: [r2] }));
    const client = echoClient(grpc, url);

    const seen: string[] = [];
    const stream = (async () => {
      for await (const m of client.count({ count: 10, intervalMs: 40 })) seen.push(m.replica);
    })();
    await expect.poll(() => seen.length).toBeGreaterThan(1);

    // Route everything to b and take r1 out of a: r1 drains.
    gateway!.reconfigure(config("b", { a: [], b: [r2] }));
    expect((await client.echo({ message: "after" })).replica).toBe("r2");

    await stream;
    expect(seen).toHaveLength(10);
    expect(new Set(seen)).toEqual(new Set(["r1"]));
  });

  it("keeps an unchanged endpoint's state and pooled session across a reload that changes everything else", async () => {
    replicas = await Promise.all(["r1", "r2"].map((name) => startReplica({ name })));
    const [r1, r2] = replicas;
    const url = await start(config("a", { a: [r1] }));
    const client = echoClient(grpc, url);
    await client.echo({ message: "warm" });
    const before = gateway!.clusters.endpointSet("a")!.get(r1.address)!;

    const next = config("a", { a: [r1, r2] });
    next.clusters.get("a")!.timeoutMs = 5000;
    next.clusters.get("a")!.endpoints[0].weight = 3;
    gateway!.reconfigure(next);

    const after = gateway!.clusters.endpointSet("a")!.get(r1.address)!;
    expect(after).toBe(before);
    expect(after.weight).toBe(3);
    const replies = new Set<string>();
    for (let i = 0; i < 20; i++) replies.add((await client.echo({ message: "x" })).replica);
    expect(replies).toEqual(new Set(["r1", "r2"]));
  });

  it("a removed endpoint closes its connections once its last call is done", async () => {
    replicas = await Promise.all(["r1", "r2"].map((name) => startReplica({ name })));
    const [r1, r2] = replicas;
    const url = await start(config("a", { a: [r1, r2] }));
    const client = echoClient(grpc, url);
    for (let i = 0; i < 4; i++) await client.echo({ message: "warm" });
    const leaving = gateway!.clusters.endpointSet("a")!.get(r1.address)!;
    const transport = leaving.transport as unknown as { sessionCount: number };
    expect(transport.sessionCount).toBe(1);

    gateway!.reconfigure(config("a", { a: [r2] }));
    await expect.poll(() => transport.sessionCount).toBe(0);
    for (let i = 0; i < 4; i++) expect((await client.echo({ message: "x" })).replica).toBe("r2");
  });
});
