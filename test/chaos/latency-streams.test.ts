import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { spawnReplica } from "./replica-process.js";
import { chaosScene } from "./scene.js";
import { startChaosGateway } from "./gateway.js";
import { describeLoad, runLoad } from "./load.js";

// Scenarios 4, 7 and 8 of issue 3.
describe("chaos: slow replicas, balancing and streams", { timeout: 90_000 }, () => {
  const scene = chaosScene();

  async function slowRun(hedging: boolean) {
    scene.replicas = [
      await spawnReplica("r1"),
      await spawnReplica("r2"),
      await spawnReplica("slow", ["--latency", "200ms"]),
    ];
    scene.gw = await startChaosGateway(scene.replicas, {
      // Keep the slow replica in rotation so the comparison is about hedging alone.
      outlierDetection: false,
      // A third of the calls land on the slow replica and need a hedge: more
      // than the default 20% budget, which would leave the rest slow.
      ...(hedging
        ? { hedgingPolicy: { maxAttempts: 3, hedgingDelay: "auto", percentile: 95 }, retryBudget: { percent: 50 } }
        : {}),
    });
    const client = scene.gw.client;
    const res = await runLoad({ total: 1500, concurrency: 16, call: (i) => client.echo({ message: `m${i}` }) });
    const attempts = (await Promise.all(scene.replicas.map((r) => r.stats()))).reduce((n, s) => n + s.calls.Echo, 0);
    await scene.gw.close();
    await Promise.all(scene.replicas.map((r) => r.kill()));
    scene.gw = undefined;
    scene.replicas = [];
    return { ...res, attempts };
  }

  it("a replica adding 200 ms: with hedging p99 stays near the healthy replicas', without it does not", async () => {
    const plain = await slowRun(false);
    const hedged = await slowRun(true);
    console.log(describeLoad("scenario 4 without hedging", plain, plain.attempts, 1500));
    console.log(describeLoad("scenario 4 with hedging", hedged, hedged.attempts, 1500));
    expect(plain.failed + hedged.failed).toBe(0);
    expect(plain.p99).toBeGreaterThan(200);
    expect(hedged.p99).toBeLessThan(plain.p99 * 0.75);
  });

  it("weights 1:1:2 under WRR; P2C-EWMA shifts traffic away from a slow replica", async () => {
    scene.replicas = await Promise.all(["r1", "r2", "r3"].map((n) => spawnReplica(n)));
    scene.gw = await startChaosGateway(scene.replicas, { slowStart: 0 }, [1, 1, 2]);
    const counts: Record<string, number> = {};
    await runLoad({
      total: 2000,
      concurrency: 16,
      call: async (i) => {
        const r = await scene.gw!.client.echo({ message: `m${i}` });
        counts[r.replica] = (counts[r.replica] ?? 0) + 1;
      },
    });
    console.log(`[chaos] scenario 7 WRR shares: ${JSON.stringify(counts)}`);
    expect(counts.r1 / 2000).toBeCloseTo(0.25, 1);
    expect(counts.r2 / 2000).toBeCloseTo(0.25, 1);
    expect(counts.r3 / 2000).toBeCloseTo(0.5, 1);
    await scene.gw.close();
    await Promise.all(scene.replicas.map((r) => r.kill()));

    scene.replicas = [
      await spawnReplica("r1"),
      await spawnReplica("r2"),
      await spawnReplica("slow", ["--latency", "50ms"]),
    ];
    scene.gw = await startChaosGateway(scene.replicas, { balancer: "p2c_ewma", slowStart: 0, outlierDetection: false });
    const p2c: Record<string, number> = {};
    await runLoad({
      total: 2000,
      concurrency: 16,
      call: async (i) => {
        const r = await scene.gw!.client.echo({ message: `m${i}` });
        p2c[r.replica] = (p2c[r.replica] ?? 0) + 1;
      },
    });
    console.log(`[chaos] scenario 7 P2C-EWMA shares with one replica +50ms: ${JSON.stringify(p2c)}`);
    expect((p2c.slow ?? 0) / 2000).toBeLessThan(0.15);
  });

  it("a server stream whose replica dies before the first message is retried elsewhere", async () => {
    const doomed = await spawnReplica("doomed", ["--latency", "1s"]);
    scene.replicas = [doomed, await spawnReplica("r2")];
    // The first attempt goes to the doomed replica (weight 100, no slow start).
    scene.gw = await startChaosGateway(scene.replicas, { slowStart: 0, healthCheck: false }, [100, 1]);
    setTimeout(() => void doomed.kill("SIGKILL"), 300);
    const got: Array<[number, string]> = [];
    for await (const m of scene.gw.client.count({ count: 5 })) got.push([m.n, m.replica]);
    expect(got).toEqual([1, 2, 3, 4, 5].map((n) => [n, "r2"]));
  });

  it("a server stream whose replica dies after messages ends UNAVAILABLE, never with a duplicate", async () => {
    const doomed = await spawnReplica("doomed");
    scene.replicas = [doomed, await spawnReplica("r2")];
    scene.gw = await startChaosGateway(scene.replicas, { slowStart: 0, healthCheck: false }, [100, 1]);
    const got: number[] = [];
    let err: ConnectError | undefined;
    try {
      for await (const m of scene.gw.client.count({ count: 10, intervalMs: 150 })) {
        got.push(m.n);
        if (m.n === 3) void doomed.kill("SIGKILL");
      }
    } catch (e) {
      err = ConnectError.from(e);
    }
    expect(err?.code).toBe(Code.Unavailable);
    expect(got.length).toBeGreaterThanOrEqual(3);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
  });
});
