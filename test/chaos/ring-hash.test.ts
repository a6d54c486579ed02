import { describe, expect, it } from "vitest";
import { spawnReplica } from "./replica-process.js";
import { chaosScene } from "./scene.js";
import { startChaosGateway } from "./gateway.js";
import { describeLoad, runLoad } from "./load.js";

// Scenario 6 of issue 12: balancer ring_hash on x-user-id over four replica
// processes. 1,000 keys keep their replica across calls; a replica killed
// with SIGKILL under load gives up only its own keys, each to one other
// replica (the next on the ring), and no call fails.
describe("chaos: sticky routing with ring_hash", { timeout: 120_000 }, () => {
  const scene = chaosScene();

  it("1,000 keys keep their replica; killing one replica moves only its keys", async () => {
    scene.replicas = await Promise.all(["r1", "r2", "r3", "r4"].map((n) => spawnReplica(n)));
    scene.gw = await startChaosGateway(scene.replicas, {
      balancer: "ring_hash",
      hashOn: { header: "x-user-id" },
      slowStart: 0,
    });
    const client = scene.gw.client;
    const KEYS = 1000;
    /** Every replica that answered each key, in order. */
    const seen: string[][] = Array.from({ length: KEYS }, () => []);
    const call = (i: number) =>
      client.echo({ message: `m${i}` }, { headers: { "x-user-id": `user-${i % KEYS}` }, timeoutMs: 5000 }).then((r) => {
        seen[i % KEYS]!.push(r.replica);
      });

    // Each key three times.
    const steady = await runLoad({ total: 3 * KEYS, concurrency: 16, call });
    console.log(describeLoad("scenario 6 (issue 12) ring_hash, steady", steady));
    expect(steady.failed, JSON.stringify([...steady.errors])).toBe(0);
    const owner = seen.map((s) => s[0]!);
    const unstable = seen.filter((s) => new Set(s).size !== 1).length;
    const perReplica = scene.replicas.map((r) => `${r.name}=${owner.filter((o) => o === r.name).length}`).join(" ");
    console.log(
      `[chaos] ring_hash: ${KEYS - unstable}/${KEYS} keys answered by one replica on all 3 calls; keys per replica: ${perReplica}`,
    );
    expect(unstable).toBe(0);

    // Kill r2 a third of the way into three more rounds.
    const victim = scene.replicas[1]!;
    for (const s of seen) s.length = 0;
    const chaos = await runLoad({
      total: 3 * KEYS,
      concurrency: 16,
      onCall: async (i) => {
        if (i === KEYS) await victim.kill("SIGKILL");
      },
      call,
    });
    console.log(describeLoad("scenario 6 (issue 12) ring_hash, r2 killed mid-load", chaos));
    expect(chaos.failed, JSON.stringify([...chaos.errors])).toBe(0);

    let othersMoved = 0;
    let victimKeys = 0;
    const newHomes = new Map<string, number>();
    seen.forEach((answers, k) => {
      if (owner[k] !== victim.name) {
        if (answers.some((a) => a !== owner[k])) othersMoved++;
        return;
      }
      victimKeys++;
      // After the kill: exactly one other replica, the same for every call of the key.
      const after = new Set(answers.filter((a) => a !== victim.name));
      expect(after.size, `key user-${k} answered by ${[...after].join(", ")}`).toBe(1);
      const home = [...after][0]!;
      newHomes.set(home, (newHomes.get(home) ?? 0) + 1);
    });
    console.log(
      `[chaos] ring_hash after killing ${victim.name}: its ${victimKeys} keys moved (to ${[...newHomes].map(([r, n]) => `${r}=${n}`).join(" ")}), ` +
        `${othersMoved} of the other ${KEYS - victimKeys} keys moved`,
    );
    expect(othersMoved).toBe(0);
    expect(victimKeys).toBeGreaterThan(0);
  });
});
