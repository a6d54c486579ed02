import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { demoDescriptors } from "../../gateway/demo.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { TestDnsServer, type SrvRecord } from "../helpers/dns-server.js";
import { spawnReplica, type ReplicaProcess } from "./replica-process.js";
import { describeLoad, runLoad } from "./load.js";

// Issue 12 (DNS): replica processes found through SRV records of a real DNS
// server on loopback, under a bounded load (4 callers). The records change
// mid-load; then the resolver stops answering, and comes back.
describe("chaos: DNS discovery", { timeout: 90_000 }, () => {
  const NAME = "_grpc._tcp.echo.chaos.test";
  const REFRESH_MS = 2_000;
  let replicas: ReplicaProcess[] = [];
  let gateway: Gateway | undefined;
  let dns: TestDnsServer | undefined;
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await Promise.all(replicas.map((r) => r.kill()));
    replicas = [];
    await dns?.stop();
    dns = undefined;
  });

  const srv = (rs: ReplicaProcess[]): SrvRecord[] =>
    rs.map((r) => ({ priority: 0, weight: 1, port: r.port, target: `${r.name}.echo.chaos.test` }));

  async function setUp(names: string[], serving: string[]) {
    replicas = await Promise.all(names.map((n) => spawnReplica(n)));
    const zone: Record<string, { SRV?: SrvRecord[]; A?: string[]; ttl?: number }> = {
      [NAME]: { SRV: srv(replicas.filter((r) => serving.includes(r.name))) },
    };
    for (const r of replicas) zone[`${r.name}.echo.chaos.test`] = { A: ["127.0.0.1"] };
    dns = await TestDnsServer.start(zone);
    const config = await validateConfigObject(
      {
        listeners: [{ port: 0, host: "127.0.0.1" }],
        clusters: {
          echo: {
            protocol: "grpc",
            discovery: { dns: { name: NAME, refresh: `${REFRESH_MS}ms`, servers: [dns.address] } },
            healthCheck: { interval: "300ms", timeout: "200ms", unhealthyThreshold: 2, healthyThreshold: 2 },
          },
        },
        routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
      },
      process.cwd(),
    );
    const events: string[] = [];
    gateway = await startGateway(config, { onClusterEvent: (m) => events.push(m), descriptors: demoDescriptors });
    const client = createClient(EchoService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${gateway.ports[0]}` }));
    const addresses = () =>
      gateway!.clusters
        .endpointSet("echo")!
        .list.map((e) => e.address)
        .sort();
    const want = (names: string[]) =>
      replicas
        .filter((r) => names.includes(r.name))
        .map((r) => r.address)
        .sort();
    const t0 = performance.now();
    while (JSON.stringify(addresses()) !== JSON.stringify(want(serving))) {
      if (performance.now() - t0 > 10_000) throw new Error(`discovery did not find ${serving}: ${addresses()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { client, events, addresses, want };
  }

  it("SRV records changed under load are followed within refresh, with zero failed calls", async () => {
    const { client, addresses, want } = await setUp(["r1", "r2", "r3"], ["r1", "r2"]);
    let changedAt = 0;
    let setFollowedAt = 0;
    let firstR3At = 0;
    let lastR1At = 0;
    const watch = setInterval(() => {
      if (changedAt && !setFollowedAt && JSON.stringify(addresses()) === JSON.stringify(want(["r2", "r3"])))
        setFollowedAt = performance.now();
    }, 10);
    const t0 = performance.now();
    const result = await runLoad({
      total: 200_000,
      concurrency: 4,
      call: async (i) => {
        const { replica } = await client.echo({ message: `m${i}` }, { timeoutMs: 5000 });
        const now = performance.now();
        if (replica === "r3" && !firstR3At) firstR3At = now;
        if (replica === "r1") lastR1At = now;
      },
      onCall: () => {
        if (!changedAt && performance.now() - t0 > 2_000) {
          changedAt = performance.now();
          dns!.zone[NAME].SRV = srv([replicas[1], replicas[2]]);
        }
      },
      stopWhen: (_, s) => s > 2 + (REFRESH_MS + 3_000) / 1000,
    });
    clearInterval(watch);
    const since = (t: number) => (t ? `${((t - changedAt) / 1000).toFixed(2)}s` : "never");
    console.log(
      describeLoad("DNS SRV r1,r2 -> r2,r3 under load (4 callers)", result),
      `| refresh ${REFRESH_MS / 1000}s: endpoint set followed after ${since(setFollowedAt)}, r3's first call after ${since(firstR3At)}, r1's last call after ${since(lastR1At)}`,
    );
    expect(result.failed).toBe(0);
    expect(setFollowedAt).toBeGreaterThan(0);
    // Within refresh, plus slack for a loaded machine's timers.
    expect(setFollowedAt - changedAt).toBeLessThan(REFRESH_MS + 1_000);
    expect(firstR3At).toBeGreaterThan(0);
    expect(lastR1At - changedAt).toBeLessThan(REFRESH_MS + 1_000);

    // r1 is out of the set: killing it now costs nothing.
    await replicas[0].kill("SIGKILL");
    const after = await runLoad({
      total: 1_000,
      concurrency: 4,
      call: (i) => client.echo({ message: `n${i}` }, { timeoutMs: 5000 }),
    });
    console.log(describeLoad("after r1, out of the records, is killed", after));
    expect(after.failed).toBe(0);
  });

  it("a resolver that stops answering keeps the last set (zero failed calls); it is followed again when it comes back", async () => {
    const { client, addresses, want } = await setUp(["r1", "r2", "r3"], ["r1", "r2"]);
    const status = () => gateway!.discovery.status()[0];
    const t0 = performance.now();
    let failingAt = 0;
    let errorSeen = "";
    const watch = setInterval(() => {
      const s = status();
      if (s.state === "failing" && !failingAt) {
        failingAt = performance.now();
        errorSeen = s.error ?? "";
      }
    }, 10);
    dns!.mode = "silent";
    const silent = await runLoad({
      total: 200_000,
      concurrency: 4,
      call: (i) => client.echo({ message: `m${i}` }, { timeoutMs: 5000 }),
      stopWhen: (_, s) => s > 8,
    });
    const silentSet = addresses();
    console.log(
      describeLoad("DNS server silent (queries time out), 8 s under load", silent),
      `| /ready discovery failing after ${((failingAt - t0) / 1000).toFixed(2)}s (${errorSeen}), endpoints kept: ${status().endpoints}`,
    );
    expect(silent.failed).toBe(0);
    expect(failingAt).toBeGreaterThan(0);
    expect(errorSeen).toContain("ETIMEOUT");
    expect(silentSet).toEqual(want(["r1", "r2"]));

    await dns!.stop();
    const closed = await runLoad({
      total: 200_000,
      concurrency: 4,
      call: (i) => client.echo({ message: `c${i}` }, { timeoutMs: 5000 }),
      stopWhen: (_, s) => s > 3,
    });
    console.log(
      describeLoad("DNS server gone (port closed), 3 s under load", closed),
      `| ${status().state}: ${status().error}; endpoints kept: ${status().endpoints}`,
    );
    expect(closed.failed).toBe(0);
    expect(addresses()).toEqual(want(["r1", "r2"]));

    // It comes back with a change: followed within about a refresh (the retry backoff is capped at refresh).
    dns!.mode = "answer";
    dns!.zone[NAME].SRV = srv(replicas);
    await dns!.start();
    const back = performance.now();
    while (JSON.stringify(addresses()) !== JSON.stringify(want(["r1", "r2", "r3"]))) {
      if (performance.now() - back > 10_000) throw new Error(`not followed after recovery: ${addresses()}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    const s = (performance.now() - back) / 1000;
    console.log(
      `[chaos] DNS server back: ${status().state}, 3 endpoints after ${s.toFixed(2)}s (refresh ${REFRESH_MS / 1000}s)`,
    );
    expect(status().state).toBe("ok");
    expect(s).toBeLessThan(REFRESH_MS / 1000 + 1);
    clearInterval(watch);
  });
});
