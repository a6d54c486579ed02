import { afterEach, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { CLIENT_KINDS, echoClient } from "../helpers/clients.js";
import type { HealthCheckConfig } from "../../gateway/config/types.js";

// Priority levels and consistent hashing over real sockets: replicas on
// loopback, the gateway in between, clients of two protocols.

const grpc = CLIENT_KINDS.find((k) => k.name === "grpc proto h2")!;
const connectH1 = CLIENT_KINDS.find((k) => k.name === "connect json h1")!;
// A generous timeout: replicas, gateway and test share one event loop, and a stall must not read as a failure.
const fastChecks: HealthCheckConfig = {
  enabled: true,
  intervalMs: 50,
  timeoutMs: 2000,
  unhealthyThreshold: 1,
  healthyThreshold: 1,
  service: "",
};

/** Who answered each of `n` calls, 25 at a time. */
async function answers(f: Fixture, n: number, headers?: (i: number) => Record<string, string>): Promise<string[]> {
  const client = echoClient(grpc, f.url);
  const out: string[] = [];
  for (let i = 0; i < n; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, (_, k) =>
        client.echo({ message: "p" }, { headers: headers?.(i + k) }),
      ),
    );
    out.push(...batch.map((r) => r.replica));
  }
  return out;
}

const count = (xs: string[], name: string) => xs.filter((x) => x === name).length;

describe("priority levels and consistent hashing", () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it("keeps calls on the primaries, spills 30% with one of two failing checks, all with both, and comes back", async () => {
    f = await startFixture({
      weights: [1, 1, 1],
      priorities: [0, 0, 1],
      resilience: { healthCheck: fastChecks, slowStartMs: 0 },
    });
    const set = f.gateway.clusters.endpointSet("echo")!;
    const healthyCount = () => set.list.filter((e) => e.health?.healthy).length;
    expect(count(await answers(f, 200), "r3")).toBe(0);

    f.replicas[0]!.health.setServing(false);
    await expect.poll(healthyCount).toBe(2);
    const half = await answers(f, 1000);
    console.log(
      `[priority] one of two primaries down: r1=${count(half, "r1")} r2=${count(half, "r2")} standby r3=${count(half, "r3")} of 1000`,
    );
    expect(count(half, "r1")).toBe(0);
    expect(Math.abs(count(half, "r3") / 1000 - 0.3)).toBeLessThan(0.06);

    f.replicas[1]!.health.setServing(false);
    await expect.poll(healthyCount).toBe(1);
    expect(count(await answers(f, 200), "r3")).toBe(200);

    for (const r of f.replicas) r.health.setServing(true);
    await expect.poll(healthyCount).toBe(3);
    expect(count(await answers(f, 200), "r3")).toBe(0);
  });

  it("fails over to the standby before health checks notice: a retry goes to an untried level", async () => {
    f = await startFixture({ weights: [1, 1], priorities: [0, 1], resilience: { slowStartMs: 0 } });
    // The primary is gone; its health checker is off, so only the call's own attempts find out.
    await f.replicas[0]!.close();
    const got = await answers(f, 100);
    expect(new Set(got)).toEqual(new Set(["r2"]));
  });

  it.each(["ring_hash", "maglev"] as const)(
    "%s: a key keeps its replica across calls and protocols; keyless calls spread",
    async (balancer) => {
      f = await startFixture({
        weights: [1, 1, 1, 1],
        resilience: { balancer, hashOn: { header: "x-user-id" }, healthCheck: fastChecks, slowStartMs: 0 },
      });
      const key = (i: number) => ({ "x-user-id": `user-${i % 100}` });
      const first = await answers(f, 200, key);
      // Calls 0..99 and 100..199 carry the same 100 keys.
      expect(first.slice(100)).toEqual(first.slice(0, 100));
      expect(new Set(first).size).toBe(4);
      // Connect over HTTP/1.1 sends the same header: the same replica.
      const viaConnect = echoClient(connectH1, f.url);
      for (let i = 0; i < 20; i++)
        expect((await viaConnect.echo({ message: "c" }, { headers: key(i) })).replica).toBe(first[i]);
      // Without the key: anywhere.
      expect(new Set(await answers(f, 200)).size).toBe(4);

      // One replica fails its checks: only its keys move, and they come back when it does.
      const set = f.gateway.clusters.endpointSet("echo")!;
      f.replicas[1]!.health.setServing(false);
      await expect.poll(() => set.list.filter((e) => e.health?.healthy).length).toBe(3);
      const during = await answers(f, 100, key);
      first
        .slice(0, 100)
        .forEach((r, i) => (r === "r2" ? expect(during[i]).not.toBe("r2") : expect(during[i]).toBe(r)));
      f.replicas[1]!.health.setServing(true);
      await expect.poll(() => set.list.filter((e) => e.health?.healthy).length).toBe(4);
      expect(await answers(f, 100, key)).toEqual(first.slice(0, 100));
    },
  );

  it("ring_hash: a hedge goes to the next replica on the ring, not back to the same one", async () => {
    f = await startFixture({
      weights: [1, 1, 1],
      resilience: {
        balancer: "ring_hash",
        hashOn: { header: "x-user-id" },
        slowStartMs: 0,
        hedgingPolicy: { maxAttempts: 2, hedgingDelayMs: 20, percentile: 95, minDelayMs: 5, nonFatalStatusCodes: [14] },
      },
    });
    const headers = { "x-user-id": "alice" };
    const owner = (await answers(f, 1, () => headers))[0]!;
    const r = f.replicas.find((x) => x.name === owner)!;
    r.faults.hang = true;
    const client = echoClient(grpc, f.url);
    const res = await client.echo({ message: "h" }, { headers, timeoutMs: 3000 });
    r.faults.hang = false;
    expect(res.replica).not.toBe(owner);
    // And the same next replica every time.
    r.faults.hang = true;
    expect((await client.echo({ message: "h" }, { headers, timeoutMs: 3000 })).replica).toBe(res.replica);
    r.faults.hang = false;
  });
});
