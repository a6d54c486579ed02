import { describe, expect, it } from "vitest";
import { spawnReplica } from "./replica-process.js";
import { chaosScene } from "./scene.js";
import { startChaosGateway } from "./gateway.js";
import { describeLoad, runLoad } from "./load.js";

// Scenarios 3 and 6 of issue 3.
describe("chaos: failing replicas, breakers and the retry budget", { timeout: 90_000 }, () => {
  const scene = chaosScene();

  it("a replica failing half its calls: its breaker opens, clients see no errors, and it closes after recovery", async () => {
    const flaky = await spawnReplica("r1", ["--error-rate", "0.5", "--error-code", "unavailable"]);
    scene.replicas = [flaky, await spawnReplica("r2"), await spawnReplica("r3")];
    scene.gw = await startChaosGateway(scene.replicas, {
      circuitBreaker: { errorThresholdPercentage: 25, volumeThreshold: 10, rollingWindow: "10s", resetTimeout: "1s" },
      // Isolate the breaker: no ejections; no slow start, so recovery shows at once.
      outlierDetection: false,
      slowStart: 0,
    });
    const client = scene.gw.client;
    let writesSent = 0;
    const acked = new Map<string, number>();
    const sick = await runLoad({
      total: 2000,
      concurrency: 16,
      call: async (i) => {
        if (i % 10 === 0) {
          writesSent++;
          try {
            const w = await client.write({ key: `k${i}`, value: "v" });
            acked.set(w.replica, (acked.get(w.replica) ?? 0) + 1);
          } catch {
            // Writes are never retried after they may have arrived: an injected failure reaches the client.
          }
        }
        return client.echo({ message: `m${i}` });
      },
    });
    const flakyStats = await flaky.stats();
    console.log(
      describeLoad("scenario 3, replica failing 50%", sick),
      `flaky replica took ${flakyStats.calls.Echo} Echo attempts of ${2000}`,
    );
    expect(sick.failed, JSON.stringify([...sick.errors])).toBe(0);
    expect(scene.gw.events.some((e) => e.includes(flaky.address) && e.includes("circuit breaker opened"))).toBe(true);
    // Scenario 5 here: every write a replica counted was acknowledged exactly once.
    for (const r of scene.replicas) expect((await r.stats()).writes).toBe(acked.get(r.name) ?? 0);
    expect(writesSent).toBeGreaterThan(0);

    // Recovery: the same replica comes back healthy on the same port.
    await flaky.kill();
    const healed = await spawnReplica("r1", [], flaky.port);
    scene.replicas[0] = healed;
    const closed = () =>
      scene.gw!.events.some((e) => e.includes(flaky.address) && e.includes("circuit breaker closed"));
    // Traffic until the half-open probe has closed the breaker (bounded: 20k calls).
    const healing = await runLoad({
      total: 20_000,
      concurrency: 8,
      stopWhen: () => closed(),
      call: (i) => client.echo({ message: `h${i}` }),
    });
    expect(closed()).toBe(true);
    expect(healing.failed).toBe(0);
    // Back in rotation: it answers calls again (bounded wait: 10k calls).
    let fromHealed = 0;
    const after = await runLoad({
      total: 10_000,
      concurrency: 8,
      stopWhen: () => fromHealed >= 100,
      call: async (i) => {
        if ((await client.echo({ message: `after${i}` })).replica === "r1") fromHealed++;
      },
    });
    console.log(
      `[chaos] scenario 3 after recovery: the healed replica answered 100 calls within the first ${after.ok} calls`,
    );
    expect(fromHealed).toBeGreaterThanOrEqual(100);
    expect(after.failed).toBe(0);
  });

  it("every replica failing: total attempts stay within the retry budget", async () => {
    scene.replicas = await Promise.all(
      ["r1", "r2", "r3"].map((n) => spawnReplica(n, ["--error-rate", "1", "--error-code", "unavailable"])),
    );
    // Breakers and ejection off, so only the budget limits retries.
    scene.gw = await startChaosGateway(scene.replicas, {
      circuitBreaker: false,
      outlierDetection: false,
      retryPolicy: { maxAttempts: 5 },
      retryBudget: { percent: 20, minRetriesPerSecond: 5 },
    });
    const client = scene.gw.client;
    const calls = 1000;
    const res = await runLoad({ total: calls, concurrency: 8, call: (i) => client.echo({ message: `m${i}` }) });
    const attempts = (await Promise.all(scene.replicas.map((r) => r.stats()))).reduce((s, x) => s + x.calls.Echo, 0);
    const windows = Math.ceil(res.seconds / 10);
    const bound = calls * 1.2 + 5 * 10 * windows;
    console.log(describeLoad("scenario 6, all replicas failing", res, attempts, calls), `budget bound ${bound}`);
    expect(res.failed).toBe(calls);
    expect([...res.errors.keys()].every((k) => k.startsWith("14:"))).toBe(true);
    expect(attempts).toBeGreaterThan(calls);
    expect(attempts).toBeLessThanOrEqual(bound);
    // Without the budget, maxAttempts 5 would have made 5000.
    expect(attempts).toBeLessThan(calls * 5);
  });
});
