import { afterEach, describe, expect, it } from "vitest";
import type { GatewayConfig } from "../config/types.js";
import { ClusterManager } from "../cluster/cluster-manager.js";
import { ReflectionManager, type LearnedSource } from "../descriptors/reflection-manager.js";
import { file_acme_echo_v1_echo } from "../../gen/acme/echo/v1/echo_pb.js";
import { CurrentSnapshot } from "./current.js";
import { clusterConfig, endpointAt } from "../../test/helpers/cluster-config.js";
import { defaultLimits, defaultOverload } from "../config/limits.js";

function config(change: (c: GatewayConfig) => void = () => {}): GatewayConfig {
  const c: GatewayConfig = {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    limits: { ...defaultLimits(), maxMessageBytes: 1024 },
    overload: defaultOverload(),
    drainTimeoutMs: 100,
    descriptorSets: [],
    cors: { allowedOrigins: [], allowCredentials: false },
    clusters: new Map([
      ["a", clusterConfig([endpointAt(1)], { name: "a" })],
      ["b", clusterConfig([endpointAt(2)], { name: "b" })],
    ]),
    routes: [{ match: { prefix: "/" }, cluster: "a" }],
  };
  change(c);
  return c;
}

const managers: ClusterManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

function current(c: GatewayConfig): CurrentSnapshot {
  const clusters = new ClusterManager();
  managers.push(clusters);
  return new CurrentSnapshot(c, { clusters });
}

describe("CurrentSnapshot.swap", () => {
  it("makes a new snapshot current and leaves the old one exactly as it was for the calls that hold it", () => {
    const cur = current(config());
    const old = cur.snapshot;
    const next = cur.swap(config((c) => (c.routes = [{ match: { prefix: "/" }, cluster: "b" }])));
    expect(cur.snapshot).toBe(next);
    expect(old.routes.match("/x.Y/Z")?.cluster).toBe("a");
    expect(next.routes.match("/x.Y/Z")?.cluster).toBe("b");
    expect(old.maxBytes).toBe(1024);
  });

  it("carries per-cluster policy state over: latency windows always, the budget when its settings are unchanged", () => {
    const cur = current(config());
    const before = cur.snapshot.upstreams.get("a")!.policy;
    const window = before.latencyWindow("/x.Y/Z");
    const same = cur.swap(config()).upstreams.get("a")!.policy;
    expect(same).not.toBe(before);
    expect(same.latencyWindow("/x.Y/Z")).toBe(window);
    expect(same.budget).toBe(before.budget);
    const changed = cur
      .swap(
        config((c) => {
          c.clusters.get("a")!.resilience.retryBudget = { percent: 50, minRetriesPerSecond: 1 };
        }),
      )
      .upstreams.get("a")!.policy;
    expect(changed.budget).not.toBe(before.budget);
    expect(changed.latencyWindow("/x.Y/Z")).toBe(window);
  });

  it("keeps endpoints whose address stays, across swaps", () => {
    const cur = current(config());
    const ep = cur.snapshot.upstreams.get("a")!.cluster.endpoints.list[0];
    const next = cur.swap(config((c) => c.clusters.get("a")!.endpoints.push(endpointAt(3))));
    expect(next.upstreams.get("a")!.cluster.endpoints.list[0]).toBe(ep);
    expect(next.upstreams.get("a")!.cluster.endpoints.list).toHaveLength(2);
  });
});

describe("CurrentSnapshot.relearn", () => {
  it("swaps in a snapshot with the new catalogue and nothing else new; calls on the old one keep theirs", () => {
    const clusters = new ClusterManager();
    managers.push(clusters);
    let lessons: LearnedSource[] = [];
    const reflection = new ReflectionManager(
      clusters,
      () => {},
      () => {},
    );
    reflection.sources = () => lessons;
    const learning = config((c) => (c.clusters.get("a")!.descriptors = { from: "reflection", refreshMs: 60_000 }));
    const cur = new CurrentSnapshot(learning, { clusters, reflection });
    const old = cur.snapshot;
    expect(old.methods.lookup("/acme.echo.v1.EchoService/Echo")).toBeUndefined();

    lessons = [{ cluster: "a", address: "127.0.0.1:1", name: "a 1", files: [file_acme_echo_v1_echo.proto] }];
    const next = cur.relearn();
    expect(cur.snapshot).toBe(next);
    expect(next.methods.lookup("/acme.echo.v1.EchoService/Echo")).toMatchObject({ noSideEffects: true });
    expect(old.methods.lookup("/acme.echo.v1.EchoService/Echo")).toBeUndefined();
    expect([next.routes, next.upstreams, next.cors, next.config]).toEqual([
      old.routes,
      old.upstreams,
      old.cors,
      old.config,
    ]);
    expect(next.upstreams).toBe(old.upstreams);

    // A reload keeps what was learned.
    expect(cur.swap(learning).methods.lookup("/acme.echo.v1.EchoService/Echo")).toBeDefined();
    void reflection.close();
  });
});
