import { afterEach, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { startReplica, type Replica } from "../../services/replica.js";
import { H2Transport } from "../../gateway/transport/h2.js";
import { HealthChecker, type HealthTarget } from "../../gateway/cluster/health-check.js";
import type { HealthCheckConfig } from "../../gateway/config/types.js";

const INTERVAL_MS = 50;

function config(over: Partial<HealthCheckConfig> = {}): HealthCheckConfig {
  return {
    enabled: true,
    intervalMs: INTERVAL_MS,
    timeoutMs: 1000,
    unhealthyThreshold: 2,
    healthyThreshold: 2,
    service: "",
    ...over,
  };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting for the health checker");
    await sleep(10);
  }
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(protocol: HealthTarget["protocol"], over: Partial<HealthCheckConfig> = {}) {
  const replica: Replica = await startReplica({ name: `hc-${protocol}` });
  cleanups.push(() => replica.close());
  const label = `cluster "hc" endpoint ${replica.address}`;
  const transport = new H2Transport({ origin: `http://${replica.address}`, label, connectTimeoutMs: 5000 });
  cleanups.push(() => transport.close());
  const changes: Array<{ healthy: boolean; reason: string; at: number }> = [];
  const checker = new HealthChecker({ transport, protocol, label }, config(over), (healthy, reason) =>
    changes.push({ healthy, reason, at: performance.now() }),
  );
  cleanups.push(() => checker.stop());
  return { replica, checker, changes };
}

describe.each(["grpc", "connect", "grpc-web"] as const)("HealthChecker over %s to a real replica", (protocol) => {
  it("keeps a SERVING replica healthy", async () => {
    const { replica, checker, changes } = await setup(protocol);
    checker.start();
    await sleep(INTERVAL_MS * 4);
    expect(checker.healthy).toBe(true);
    expect(changes).toEqual([]);
    // The checks really ran against the replica's health service.
    replica.health.setServing(false);
    await until(() => !checker.healthy);
  });

  it("goes unhealthy after unhealthyThreshold NOT_SERVING answers and recovers on SERVING", async () => {
    const { replica, checker, changes } = await setup(protocol, { unhealthyThreshold: 3, healthyThreshold: 2 });
    checker.start();
    await sleep(INTERVAL_MS * 2);
    const flipped = performance.now();
    replica.health.setServing(false);
    await until(() => !checker.healthy);
    expect(changes).toHaveLength(1);
    expect(changes[0].healthy).toBe(false);
    expect(changes[0].reason).toBe("health check failed 3 times in a row: NOT_SERVING");
    // Three checks at one per interval: not before the second interval ended.
    expect(changes[0].at - flipped).toBeGreaterThanOrEqual(INTERVAL_MS * 2 - 5);

    replica.health.setServing(true);
    await until(() => checker.healthy);
    expect(changes).toHaveLength(2);
    expect(changes[1]).toMatchObject({ healthy: true, reason: "health check passed 2 times in a row" });
  });

  it("fails an unknown service name with NOT_FOUND", async () => {
    const { checker, changes } = await setup(protocol, { service: "no.such.Service", unhealthyThreshold: 1 });
    checker.start();
    await until(() => !checker.healthy);
    expect(changes[0].reason).toMatch(/^health check failed 1 time in a row: NOT_FOUND: /);
    expect(changes[0].reason).toContain('unknown service "no.such.Service"');
  });

  it("marks a killed replica unhealthy, saying the connection failed", async () => {
    const { replica, checker, changes } = await setup(protocol);
    checker.start();
    await sleep(INTERVAL_MS * 2);
    expect(checker.healthy).toBe(true);
    await replica.close();
    await until(() => !checker.healthy);
    expect(changes).toHaveLength(1);
    expect(changes[0].reason).toMatch(
      /^health check failed 2 times in a row: UNAVAILABLE: cluster "hc" endpoint 127\.0\.0\.1:\d+ /,
    );
    expect(changes[0].reason).toMatch(/ECONNREFUSED|connection|unreachable/);
  });

  it("marks a replica that is down from the start unhealthy", async () => {
    const { replica, checker, changes } = await setup(protocol, { unhealthyThreshold: 1 });
    await replica.close();
    checker.start();
    await until(() => !checker.healthy);
    expect(changes[0].reason).toContain("ECONNREFUSED");
  });
});
