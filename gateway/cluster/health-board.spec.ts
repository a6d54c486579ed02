import { afterEach, describe, expect, it } from "vitest";
import { HealthBoard } from "./health-board.js";
import { ClusterManager } from "./cluster-manager.js";
import { defaultResilience } from "../config/resilience.js";
import { clusterConfig, endpointAt as ep } from "../../test/helpers/cluster-config.js";
import type { ClusterConfig, EndpointConfig } from "../config/types.js";

const managers: ClusterManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

/** Health checks on, as the primary and the workers both configure them. */
function checked(endpoints: EndpointConfig[]): ClusterConfig {
  const resilience = defaultResilience();
  resilience.healthCheck.intervalMs = 60_000;
  return clusterConfig(endpoints, { resilience });
}

function manager(board?: HealthBoard): ClusterManager {
  const m = new ClusterManager(() => {}, board);
  managers.push(m);
  return m;
}

describe("HealthBoard", () => {
  it("an endpoint is healthy unless the latest list names it; followers hear each change once", () => {
    const board = new HealthBoard();
    const heard: string[] = [];
    const a = board.follow("echo", "127.0.0.1:1", (h) => heard.push(`a ${h}`));
    const b = board.follow("echo", "127.0.0.1:2", (h) => heard.push(`b ${h}`));
    expect([a.healthy, b.healthy]).toEqual([true, true]);
    board.replace([{ cluster: "echo", address: "127.0.0.1:1" }]);
    board.replace([{ cluster: "echo", address: "127.0.0.1:1" }]);
    expect([a.healthy, b.healthy]).toEqual([false, true]);
    board.replace([{ cluster: "echo", address: "127.0.0.1:2" }]);
    expect([a.healthy, b.healthy]).toEqual([true, false]);
    expect(heard).toEqual(["a false", "a true", "b false"]);
  });

  it("a follower that starts late takes the board's word; the same address in another cluster is another endpoint", () => {
    const board = new HealthBoard();
    board.replace([{ cluster: "echo", address: "127.0.0.1:1" }]);
    expect(board.follow("echo", "127.0.0.1:1", () => {}).healthy).toBe(false);
    expect(board.follow("other", "127.0.0.1:1", () => {}).healthy).toBe(true);
  });

  it("a stopped follower leaves the board", () => {
    const board = new HealthBoard();
    const heard: boolean[] = [];
    const a = board.follow("echo", "127.0.0.1:1", (h) => heard.push(h));
    a.stop();
    board.replace([{ cluster: "echo", address: "127.0.0.1:1" }]);
    expect(heard).toEqual([]);
    expect(board.size).toBe(0);
  });
});

describe("health checked in one process, followed in another", () => {
  it("a worker's endpoints take no part in checks and follow what the primary's sets report", async () => {
    const board = new HealthBoard();
    const worker = manager(board);
    const echo = worker.apply(new Map([["echo", checked([ep(1), ep(2)])]])).get("echo")!;
    const [e1, e2] = echo.endpoints.list;
    expect(e1.health).toBeDefined();
    expect(e1.health!.constructor.name).not.toBe("HealthChecker");

    // The list the primary sends is the one its own ClusterManager reports.
    board.replace([{ cluster: "echo", address: "127.0.0.1:1" }]);
    expect(e1.unavailableReason()).toBe("failing health checks");
    expect(e2.unavailableReason()).toBeUndefined();
    board.replace([]);
    expect(e1.unavailableReason()).toBeUndefined();
  });

  it("ClusterManager.unhealthy lists the endpoints in service whose checks fail", async () => {
    // Port 1 refuses connections: the first check fails at once; two make it unhealthy.
    const resilience = defaultResilience();
    resilience.healthCheck = { ...resilience.healthCheck, intervalMs: 20, timeoutMs: 500, unhealthyThreshold: 2 };
    const primary = manager();
    primary.apply(new Map([["echo", clusterConfig([ep(1)], { resilience })]]));
    for (let i = 0; i < 100 && primary.unhealthy().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(primary.unhealthy()).toEqual([{ cluster: "echo", address: "127.0.0.1:1" }]);
  });
});
