import { describe, expect, it } from "vitest";
import { spawnReplica } from "./replica-process.js";
import { chaosScene } from "./scene.js";
import { startChaosGateway } from "./gateway.js";
import { describeLoad, runLoad } from "./load.js";

// Scenario 5 of issue 12: a primary group of two and a standby group of two
// (priority 1). Both primaries are killed with SIGKILL under load, then
// restarted on their ports. Echo is NO_SIDE_EFFECTS, so no call may fail.
describe("chaos: standby failover", { timeout: 90_000 }, () => {
  const scene = chaosScene();

  it("kill both primaries under load: zero failed calls, the standbys take over, and the primaries take back", async () => {
    const [p1, p2, s1, s2] = await Promise.all(["p1", "p2", "s1", "s2"].map((n) => spawnReplica(n)));
    scene.replicas = [p1!, p2!, s1!, s2!];
    scene.gw = await startChaosGateway(scene.replicas, {
      endpoints: scene.replicas.map((r, i) => ({ address: r.address, priority: i < 2 ? 0 : 1 })),
      // Slow start would only hide the restarted primaries' return behind a ramp; levels do not use it.
      slowStart: 0,
    });
    const client = scene.gw.client;
    const primaries = new Set(["p1", "p2"]);
    const primariesUnhealthy = () =>
      [p1!, p2!].every((p) => scene.gw!.events.some((e) => e.includes(p.address) && e.includes("unhealthy")));
    const t0 = performance.now();
    /** [ms since start, replica] of every answer. */
    const seen: Array<[number, string]> = [];
    let killStartedAt = 0;
    let killedAt = 0;
    let bothUnhealthyAt: number | undefined;
    let restartedAt = 0;
    let phase: "before" | "killed" | "restarted" = "before";
    const result = await runLoad({
      total: 200_000,
      concurrency: 16,
      // Bounded in time: 2 s normal, kill, 4 s on the standbys, restart, then until the primaries have had every call for 1 s.
      stopWhen: (_done, seconds) => {
        if (phase !== "restarted" || seconds > 25) return seconds > 25;
        const last = seen.slice(-200);
        return (
          performance.now() - restartedAt > 1000 &&
          last.length === 200 &&
          last.every(([t, r]) => primaries.has(r) && t > restartedAt - t0)
        );
      },
      onCall: async () => {
        const now = performance.now() - t0;
        if (phase === "before" && now > 2000) {
          phase = "killed";
          killStartedAt = performance.now();
          await Promise.all([p1!.kill(), p2!.kill()]);
          // From here on both processes are gone (answers already on their way may still arrive for a moment).
          killedAt = performance.now();
        } else if (phase === "killed" && bothUnhealthyAt === undefined && primariesUnhealthy()) {
          bothUnhealthyAt = performance.now();
        } else if (phase === "killed" && performance.now() - killedAt > (bothUnhealthyAt ? 3000 : 10_000)) {
          phase = "restarted";
          const [n1, n2] = await Promise.all([spawnReplica("p1", [], p1!.port), spawnReplica("p2", [], p2!.port)]);
          scene.replicas[0] = n1!;
          scene.replicas[1] = n2!;
          restartedAt = performance.now();
        }
      },
      call: async (i) => {
        const r = await client.echo({ message: `m${i}` }, { timeoutMs: 5000 });
        seen.push([performance.now() - t0, r.replica]);
      },
    });

    const k = killedAt - t0;
    const back = restartedAt - t0;
    const share = (from: number, to: number, names: Set<string>) => {
      const xs = seen.filter(([t]) => t >= from && t < to);
      return { calls: xs.length, share: xs.filter(([, r]) => names.has(r)).length / Math.max(1, xs.length) };
    };
    const standbys = new Set(["s1", "s2"]);
    const before = share(0, killStartedAt - t0, standbys);
    // 100 ms for answers that left a primary before it died to reach the client.
    const during = share(k + 100, back, standbys);
    const firstPrimaryAfter = seen.find(([t, r]) => t > back && primaries.has(r));
    const allPrimaryFrom = (() => {
      // The first moment after the restart from which every answer came from a primary.
      let from: number | undefined;
      for (const [t, r] of seen) {
        if (t <= back) continue;
        if (primaries.has(r)) from ??= t;
        else from = undefined;
      }
      return from;
    })();
    const stand = await Promise.all([s1!.stats(), s2!.stats()]);
    console.log(describeLoad("scenario 5 (issue 12) standby failover", result));
    console.log(
      `[chaos] standby share: before the kill ${(before.share * 100).toFixed(1)}% of ${before.calls} calls; ` +
        `kill..restart ${(during.share * 100).toFixed(1)}% of ${during.calls}; ` +
        `both primaries failing health checks ${bothUnhealthyAt ? (bothUnhealthyAt - killedAt).toFixed(0) : "?"} ms after the kill; ` +
        `first primary answer ${firstPrimaryAfter ? (firstPrimaryAfter[0] - back).toFixed(0) : "?"} ms after restart, ` +
        `all on primaries from ${allPrimaryFrom ? (allPrimaryFrom - back).toFixed(0) : "?"} ms; ` +
        `standbys took ${stand[0]!.calls.Echo + stand[1]!.calls.Echo} Echo attempts; ` +
        `primary breakers opened: ${scene.gw.events.filter((e) => e.includes("circuit breaker opened")).length}`,
    );
    if (!bothUnhealthyAt || !allPrimaryFrom) console.log(scene.gw.events.join("\n"));
    expect(result.failed, JSON.stringify([...result.errors])).toBe(0);
    expect(before.share).toBe(0);
    expect(during.share).toBe(1);
    // Health checks (300 ms x 2) mark both primaries down well within the 4 s the standbys serve alone.
    expect(
      scene.gw.events.filter((e) => e.includes("unhealthy") && (e.includes(p1!.address) || e.includes(p2!.address)))
        .length,
    ).toBeGreaterThanOrEqual(2);
    expect(allPrimaryFrom).toBeDefined();
    // Back within health-check time (healthyThreshold 2 at 300 ms, plus the
    // process's start): passing checks also lift the ejection the attempts
    // that found it dead earned (Endpoint, outlier.ts uneject()).
    expect(allPrimaryFrom! - back).toBeLessThan(3000);
  });
});
