import { afterEach, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { spawnReplica, type ReplicaProcess } from "./replica-process.js";
import { describeLoad, runLoad } from "./load.js";
import { startEtcd, type EtcdServer } from "../helpers/etcd.js";
import { spawnCli, type CliProcess } from "../helpers/cli-process.js";

// Issue 12, scenarios 2 and 7: the registry goes away under load, and two
// gateway processes follow the same etcd. Gateways and replicas are real
// processes; the gateways run the CLI as a user would.
const PREFIX = "/services/echo/";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("chaos: etcd outage, two gateways on one etcd", { timeout: 120_000 }, () => {
  let etcd: EtcdServer | undefined;
  let replicas: ReplicaProcess[] = [];
  let gateways: CliProcess[] = [];
  let dir: string | undefined;
  afterEach(async () => {
    for (const g of gateways) g.kill();
    gateways = [];
    await Promise.all(replicas.map((r) => r.kill()));
    replicas = [];
    await etcd?.stop();
    etcd = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function startGatewayProcess(name: string): Promise<{ url: string; seen(n: number): Promise<Set<string>> }> {
    const file = join(dir!, `${name}.yaml`);
    writeFileSync(
      file,
      JSON.stringify({
        listeners: [{ port: 0, host: "127.0.0.1" }],
        clusters: {
          echo: {
            protocol: "grpc",
            healthCheck: { interval: "300ms" },
            discovery: { etcd: { endpoints: [etcd!.url], prefix: PREFIX } },
          },
        },
        routes: [{ match: { prefix: "/" }, cluster: "echo" }],
      }),
    );
    const g = spawnCli(["--config", file]);
    gateways.push(g);
    const [, port] = await g.waitForStdout(/listening on port (\d+)/);
    const url = `http://127.0.0.1:${port}`;
    const client = createClient(EchoService, createGrpcTransport({ baseUrl: url }));
    const seen = async (n: number) => {
      const s = new Set<string>();
      for (let i = 0; i < n; i++) s.add((await client.echo({ message: "who" })).replica);
      return s;
    };
    return { url, seen };
  }

  it("etcd killed mid-load: zero failed calls on the last set; a replica registered meanwhile joins once etcd is back; both gateways agree", async () => {
    dir = mkdtempSync(join(tmpdir(), "switchyard-etcd-outage-"));
    etcd = await startEtcd();
    const register = ["--register", `etcd://${new URL(etcd.url).host}${PREFIX}`];
    replicas = await Promise.all(["r1", "r2", "r3"].map((n) => spawnReplica(n, register)));
    const a = await startGatewayProcess("a");
    const b = await startGatewayProcess("b");
    const all3 = new Set(["r1", "r2", "r3"]);
    await expect.poll(() => a.seen(12), { timeout: 10_000 }).toEqual(all3);
    await expect.poll(() => b.seen(12), { timeout: 10_000 }).toEqual(all3);

    const clients = [a, b].map((g) => createClient(EchoService, createGrpcTransport({ baseUrl: g.url })));
    const phases: string[] = [];
    let done = false;
    const script = (async () => {
      await sleep(1000);
      await etcd!.kill();
      phases.push("etcd killed");
      // Registers while etcd is down: it keeps retrying until etcd is back.
      replicas.push(await spawnReplica("r4", register));
      await sleep(2500);
      await etcd!.restart();
      phases.push("etcd restarted");
      const t0 = performance.now();
      await expect
        .poll(() => replicas[3].stats().then((s) => s.calls.Echo > 0), { timeout: 15_000, interval: 100 })
        .toBe(true);
      phases.push(`r4 took traffic ${Math.round(performance.now() - t0)} ms after etcd came back`);
      await sleep(1000);
      done = true;
    })();
    const result = await runLoad({
      total: 200_000,
      concurrency: 8,
      stopWhen: (_n, s) => done || s > 60,
      call: (i) => clients[i % 2].echo({ message: `m${i}` }, { timeoutMs: 5000 }),
    });
    await script;
    console.log(describeLoad("etcd killed and restarted under load, two gateways", result));
    console.log(`[chaos] ${phases.join("; ")}`);
    for (const r of replicas) console.log(`[chaos]   ${r.name}: Echo=${(await r.stats()).calls.Echo}`);
    expect(result.failed).toBe(0);
    const all4 = new Set(["r1", "r2", "r3", "r4"]);
    await expect.poll(() => a.seen(16), { timeout: 10_000 }).toEqual(all4);
    await expect.poll(() => b.seen(16), { timeout: 10_000 }).toEqual(all4);
  });
});
