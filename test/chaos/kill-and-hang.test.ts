import { describe, expect, it } from "vitest";
import { spawnReplica } from "./replica-process.js";
import { chaosScene } from "./scene.js";
import { startChaosGateway } from "./gateway.js";
import { describeLoad, runLoad } from "./load.js";

// Scenarios 1, 2 and 5 of issue 3: replicas are real processes, killed with
// SIGKILL or started hung; clients must not notice, and Write (not safe to
// repeat) must never reach a replica twice.
describe("chaos: a replica dies or hangs", { timeout: 90_000 }, () => {
  const scene = chaosScene();

  async function killMidLoad(retries: boolean) {
    scene.replicas = await Promise.all(["r1", "r2", "r3"].map((n) => spawnReplica(n)));
    scene.gw = await startChaosGateway(scene.replicas, retries ? {} : { retryPolicy: false });
    const client = scene.gw.client;
    const victim = scene.replicas[1];
    const acked = new Map<string, number>();
    let writesSent = 0;
    let writeFailures = 0;
    const result = await runLoad({
      total: 3000,
      concurrency: 32,
      onCall: async (i) => {
        if (i === 1000) void victim.kill("SIGKILL");
      },
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
    const survivors = [scene.replicas[0], scene.replicas[2]];
    for (const r of scene.replicas) if (r.stderr()) console.error(`replica ${r.name} stderr:`, r.stderr());
    const stats = await Promise.all(survivors.map((r) => r.stats()));
    return { result, survivors, stats, acked, writesSent, writeFailures };
  }

  it("kill -9 of one of three replicas mid-load: zero failed Echo calls, no Write twice", async () => {
    const base = await killMidLoad(false);
    console.log(describeLoad("scenario 1 without retries", base.result));
    await scene.gw!.close();
    await Promise.all(scene.replicas.map((r) => r.kill()));

    const { result, survivors, stats, acked, writesSent, writeFailures } = await killMidLoad(true);
    const attempts = stats.reduce((s, x) => s + x.calls.Echo, 0);
    console.log(describeLoad("scenario 1 with retries", result), `(survivors took ${attempts} Echo attempts)`);
    expect(result.failed, JSON.stringify([...result.errors])).toBe(0);
    expect(result.ok).toBe(3000);
    // Scenario 5: a surviving replica counted exactly the writes it acknowledged:
    // none was delivered twice, none silently lost.
    survivors.forEach((r, i) => expect(stats[i].writes).toBe(acked.get(r.name) ?? 0));
    const ackedTotal = [...acked.values()].reduce((a, b) => a + b, 0);
    expect(ackedTotal + writeFailures).toBe(writesSent);
  });

  it("a hung replica: no Echo call fails (hedging) and it stops getting traffic within seconds", async () => {
    scene.replicas = await Promise.all([spawnReplica("r1"), spawnReplica("r2", ["--hang"]), spawnReplica("r3")]);
    scene.gw = await startChaosGateway(scene.replicas, { hedgingPolicy: { maxAttempts: 3, hedgingDelay: "auto" } });
    const client = scene.gw.client;
    const t0 = performance.now();
    let hungAt3s: number | undefined;
    let writesSent = 0;
    const acked = new Map<string, number>();
    const result = await runLoad({
      // Time-bound, so "within a few seconds" is observable on a fast machine too.
      total: 30_000,
      stopWhen: (done, seconds) => done >= 3000 && seconds >= 5,
      concurrency: 16,
      onCall: async () => {
        if (hungAt3s === undefined && performance.now() - t0 > 3000)
          hungAt3s = (await scene.replicas[1].stats()).calls.Echo;
      },
      call: async (i) => {
        if (i % 20 === 0) {
          writesSent++;
          // Write is not hedged; one that lands on the hung replica times out and is not repeated.
          try {
            const w = await client.write({ key: `k${i}`, value: "v" }, { timeoutMs: 1000 });
            acked.set(w.replica, (acked.get(w.replica) ?? 0) + 1);
          } catch {
            // allowed: may fail, must not duplicate
          }
        }
        return client.echo({ message: `m${i}` }, { timeoutMs: 5000 });
      },
    });
    const hung = await scene.replicas[1].stats();
    const attempts = (await Promise.all(scene.replicas.map((r) => r.stats()))).reduce((n, s) => n + s.calls.Echo, 0);
    console.log(
      describeLoad("scenario 2 with hedging", result, attempts, result.ok + result.failed),
      `hung replica got ${hung.calls.Echo} Echo attempts (${hungAt3s ?? "?"} in the first 3 s)`,
    );
    expect(result.failed, JSON.stringify([...result.errors])).toBe(0);
    expect(result.seconds).toBeGreaterThan(3);
    // After the first seconds the hung replica is out of rotation.
    expect(hung.calls.Echo - (hungAt3s ?? 0)).toBeLessThanOrEqual(5);
    for (const r of [scene.replicas[0], scene.replicas[2]])
      expect((await r.stats()).writes).toBe(acked.get(r.name) ?? 0);
    expect((await scene.replicas[1].stats()).writes).toBe(0);
    expect(writesSent).toBeGreaterThan(0);
    expect(scene.gw.events.some((e) => e.includes("r2") || e.includes(scene.replicas[1].address))).toBe(true);
  });

  it("a hung replica without hedging: calls that land on it fail until health checks eject it", async () => {
    scene.replicas = await Promise.all([spawnReplica("r1"), spawnReplica("r2", ["--hang"]), spawnReplica("r3")]);
    scene.gw = await startChaosGateway(scene.replicas, { retryPolicy: { retryableStatusCodes: ["UNAVAILABLE"] } });
    const client = scene.gw.client;
    const result = await runLoad({
      total: 1500,
      concurrency: 16,
      call: (i) => client.echo({ message: `m${i}` }, { timeoutMs: 500 }),
    });
    const attempts = (await Promise.all(scene.replicas.map((r) => r.stats()))).reduce((n, s) => n + s.calls.Echo, 0);
    console.log(describeLoad("scenario 2 without hedging", result, attempts, 1500));
    // The baseline the hedging run is measured against: here the hang shows.
    expect(result.failed).toBeGreaterThan(0);
    expect([...result.errors.keys()].every((k) => k.startsWith("4:"))).toBe(true);
  });
});
