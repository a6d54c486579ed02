import { afterEach, describe, expect, it } from "vitest";
import { ClusterManager } from "./cluster-manager.js";
import { clusterConfig, endpointAt as ep } from "../../test/helpers/cluster-config.js";

const managers: ClusterManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

function manager(): ClusterManager {
  const m = new ClusterManager();
  managers.push(m);
  return m;
}

describe("ClusterManager.apply", () => {
  it("gives each snapshot its own Cluster over the same endpoint set", () => {
    const m = manager();
    const a = m.apply(new Map([["echo", clusterConfig([ep(1)])]])).get("echo")!;
    const b = m.apply(new Map([["echo", clusterConfig([ep(1), ep(2)], { timeoutMs: 100 })]])).get("echo")!;
    expect(b).not.toBe(a);
    expect(b.endpoints).toBe(a.endpoints);
    // The old snapshot's cluster keeps its own settings but sees the set change.
    expect(a.config.timeoutMs).toBeUndefined();
    expect(b.config.timeoutMs).toBe(100);
    expect(a.endpoints.list.map((e) => e.address)).toEqual(["127.0.0.1:1", "127.0.0.1:2"]);
  });

  it("rebuilds a set whose endpoint settings changed, and drains the old one", async () => {
    const m = manager();
    const a = m.apply(new Map([["echo", clusterConfig([ep(1)])]])).get("echo")!;
    const old = a.endpoints.list[0];
    const b = m.apply(new Map([["echo", clusterConfig([ep(1)], { protocol: "connect" })]])).get("echo")!;
    expect(b.endpoints).not.toBe(a.endpoints);
    expect(b.endpoints.list[0]).not.toBe(old);
    expect(old.unavailableReason()).toBe("draining");
  });

  it("hands an operator's drains on to a rebuilt set, for the addresses it still has", () => {
    const m = manager();
    m.apply(new Map([["echo", clusterConfig([ep(1), ep(2)])]]));
    m.endpointSet("echo")!.setDrained("127.0.0.1:2", true);
    const b = m.apply(new Map([["echo", clusterConfig([ep(1), ep(2)], { protocol: "connect" })]])).get("echo")!;
    expect(b.endpoints.list.map((e) => [e.address, e.drained])).toEqual([
      ["127.0.0.1:1", false],
      ["127.0.0.1:2", true],
    ]);
    expect(b.pick()?.address).toBe("127.0.0.1:1");
  });

  it("retires the set of a cluster the config no longer has", () => {
    const m = manager();
    const a = m.apply(new Map([["echo", clusterConfig([ep(1)])]])).get("echo")!;
    const old = a.endpoints.list[0];
    m.apply(new Map());
    expect(m.endpointSet("echo")).toBeUndefined();
    expect(old.unavailableReason()).toBe("draining");
    expect(a.pick()).toBeUndefined();
  });
});
