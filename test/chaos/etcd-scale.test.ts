import { afterEach, describe, expect, it } from "vitest";
import { spawnReplica, type ReplicaProcess } from "./replica-process.js";
import { chaosScene } from "./scene.js";
import { startChaosGateway } from "./gateway.js";
import { describeLoad, runLoad } from "./load.js";
import { startEtcd, type EtcdServer } from "../helpers/etcd.js";

// Scale out and in under load, the fleet following etcd: replicas are
// processes that register themselves (--register) and, on SIGTERM, leave the
// registry, wait, then drain. Clients must not notice either way.
const PREFIX = "/services/echo/";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("chaos: scale out and in via etcd", { timeout: 120_000 }, () => {
  let etcd: EtcdServer | undefined;
  const scene = chaosScene();
  afterEach(async () => {
    await etcd?.stop();
    etcd = undefined;
  });

  it("3 replicas, +3 under load (traffic within 2 s), then SIGTERM 4 one by one: zero failed Echo, no Write twice", async () => {
    etcd = await startEtcd();
    const register = ["--register", `etcd://${new URL(etcd.url).host}${PREFIX}`];
    const spawn = (name: string) => spawnReplica(name, register);
    scene.replicas = await Promise.all(["r1", "r2", "r3"].map(spawn));
    scene.gw = await startChaosGateway([], { discovery: { etcd: { endpoints: [etcd.url], prefix: PREFIX } } });
    const set = () => scene.gw!.gateway.clusters.endpointSet("echo")!;
    const inSet = () => set().list.length;
    await expect.poll(inSet, { timeout: 10_000 }).toBe(3);
    const client = scene.gw.client;

    const acked = new Map<string, number>();
    let writesSent = 0;
    let writeFailures = 0;
    const firstTrafficMs = new Map<string, number>();
    /** Stats of a replica read while it is deregistered but not yet gone: its final counts. */
    const finalStats = new Map<string, Awaited<ReturnType<ReplicaProcess["stats"]>>>();
    const phases: string[] = [];
    let done = false;

    const script = (async () => {
      await sleep(1500);
      // Scale out: three more register while calls flow.
      const added = await Promise.all(
        ["r4", "r5", "r6"].map(async (name) => {
          const r = await spawn(name);
          scene.replicas.push(r);
          const t0 = performance.now();
          for (;;) {
            if ((await r.stats()).calls.Echo > 0) break;
            if (performance.now() - t0 > 10_000) break;
            await sleep(50);
          }
          firstTrafficMs.set(name, performance.now() - t0);
          return r;
        }),
      );
      phases.push(`scaled out to ${inSet()} endpoints`);
      await sleep(1500);
      // Scale in: four leave, one at a time, each the graceful way.
      for (const victim of [scene.replicas[0], scene.replicas[1], scene.replicas[2], added[0]]) {
        const exited = victim.kill("SIGTERM");
        const t0 = performance.now();
        while (!victim.stdout().includes("deregistered") && performance.now() - t0 < 5000) await sleep(20);
        // Out of the gateway's set, not yet closed: nothing new arrives, so these are its final counts.
        await expect
          .poll(() => set().list.some((e) => e.address === victim.address), { timeout: 900, interval: 20 })
          .toBe(false);
        await sleep(300);
        finalStats.set(victim.name, await victim.stats());
        await exited;
        phases.push(`${victim.name} left (${Math.round(performance.now() - t0)} ms to exit), ${inSet()} endpoints`);
        await sleep(500);
      }
      await sleep(1000);
      done = true;
    })();

    const result = await runLoad({
      total: 500_000,
      concurrency: 16,
      stopWhen: () => done,
      call: async (i) => {
        if (i % 10 === 0) {
          writesSent++;
          try {
            const w = await client.write({ key: `k${i}`, value: "v" }, { timeoutMs: 5000 });
            acked.set(w.replica, (acked.get(w.replica) ?? 0) + 1);
          } catch {
            writeFailures++;
          }
        }
        return client.echo({ message: `m${i}` }, { timeoutMs: 5000 });
      },
    });
    await script;

    const survivors = scene.replicas.filter((r) => !finalStats.has(r.name));
    for (const r of survivors) finalStats.set(r.name, await r.stats());
    for (const r of scene.replicas) if (r.stderr()) console.error(`replica ${r.name} stderr:`, r.stderr());
    console.log(
      describeLoad("etcd scale out 3->6, in 6->2", result),
      `writes sent=${writesSent} failed=${writeFailures}`,
    );
    console.log(`[chaos] ${phases.join("; ")}`);
    for (const r of scene.replicas) {
      const s = finalStats.get(r.name)!;
      const first = firstTrafficMs.has(r.name)
        ? ` first call ${Math.round(firstTrafficMs.get(r.name)!)} ms after start`
        : "";
      console.log(
        `[chaos]   ${r.name}: Echo=${s.calls.Echo} Write=${s.calls.Write} writes=${s.writes} acked=${acked.get(r.name) ?? 0}${first}`,
      );
    }

    expect(result.failed, JSON.stringify([...result.errors])).toBe(0);
    for (const [name, ms] of firstTrafficMs) expect(ms, `${name} got its first call`).toBeLessThan(2000);
    // No Write executed twice, none lost: each replica did exactly the writes it acknowledged.
    for (const r of scene.replicas) expect(finalStats.get(r.name)!.writes, r.name).toBe(acked.get(r.name) ?? 0);
    const ackedTotal = [...acked.values()].reduce((a, b) => a + b, 0);
    expect(ackedTotal + writeFailures).toBe(writesSent);
    expect(writeFailures).toBe(0);
    expect(inSet()).toBe(2);
  });
});
