import { afterEach, describe, expect, it } from "vitest";
import type { EndpointConfig } from "../config/types.js";
import { EndpointSet } from "./endpoint-set.js";
import { clusterConfig, endpointAt as ep } from "../../test/helpers/cluster-config.js";

const sets: EndpointSet[] = [];
afterEach(async () => {
  await Promise.all(sets.splice(0).map((s) => s.close()));
});

function setOf(endpoints: EndpointConfig[]): EndpointSet {
  const s = new EndpointSet(clusterConfig(endpoints));
  sets.push(s);
  return s;
}

describe("EndpointSet.reconcile", () => {
  it("keeps an unchanged address's endpoint, with its breaker, EWMA, outlier and health state and its pool", () => {
    const set = setOf([ep(1), ep(2)]);
    const before = set.get("127.0.0.1:1")!;
    const state = {
      breaker: before.breaker,
      ewma: before.ewma,
      outlier: before.outlier,
      health: before.health,
      transport: before.transport,
    };
    before.ewma.observe(42);
    before.outlier.consecutiveFailures = 3;

    const change = set.reconcile([ep(1), ep(3)]);

    const after = set.get("127.0.0.1:1")!;
    expect(after).toBe(before);
    expect({
      breaker: after.breaker,
      ewma: after.ewma,
      outlier: after.outlier,
      health: after.health,
      transport: after.transport,
    }).toEqual(state);
    expect(after.outlier.consecutiveFailures).toBe(3);
    expect(change).toEqual({ added: ["127.0.0.1:3"], removed: ["127.0.0.1:2"], updated: [] });
    expect(set.list.map((e) => e.address)).toEqual(["127.0.0.1:1", "127.0.0.1:3"]);
  });

  it("reweights and reprioritises in place", () => {
    const set = setOf([ep(1, 1, 0)]);
    const before = set.get("127.0.0.1:1")!;
    expect(set.reconcile([ep(1, 5, 1)])).toEqual({ added: [], removed: [], updated: ["127.0.0.1:1"] });
    expect(set.get("127.0.0.1:1")).toBe(before);
    expect([before.weight, before.priority]).toEqual([5, 1]);
  });

  it("starts a new endpoint with slow start: a fraction of its weight at first", () => {
    const set = setOf([ep(1)]);
    set.reconcile([ep(1), ep(2, 10)]);
    const fresh = set.get("127.0.0.1:2")!;
    expect(fresh.effectiveWeight(performance.now())).toBeLessThan(2);
  });

  it("drains a removed endpoint: no new calls, the ones in flight finish, then its connections close", async () => {
    const set = setOf([ep(1), ep(2)]);
    const leaving = set.get("127.0.0.1:2")!;
    let closed = false;
    const close = leaving.transport.close.bind(leaving.transport);
    leaving.transport.close = () => {
      closed = true;
      return close();
    };
    leaving.enter(); // a call in flight on it

    set.reconcile([ep(1)]);

    expect(set.list).not.toContain(leaving);
    expect(set.get("127.0.0.1:2")).toBeUndefined();
    expect(leaving.unavailableReason()).toBe("draining");
    await new Promise((r) => setTimeout(r, 20));
    expect(closed).toBe(false);
    leaving.leave(true, true); // the call ends
    await expect.poll(() => closed).toBe(true);
  });

  it("an address that comes back after a removal is a new endpoint", () => {
    const set = setOf([ep(1), ep(2)]);
    const first = set.get("127.0.0.1:2")!;
    set.reconcile([ep(1)]);
    set.reconcile([ep(1), ep(2)]);
    expect(set.get("127.0.0.1:2")).not.toBe(first);
    expect(set.get("127.0.0.1:2")!.unavailableReason()).toBeUndefined();
  });

  it("fits a config that changes only what endpoints are not built with", () => {
    const set = setOf([ep(1)]);
    expect(set.fits(clusterConfig([ep(9)], { codec: "json", timeoutMs: 5 }))).toBe(true);
    expect(set.fits(clusterConfig([ep(1)], { protocol: "connect" }))).toBe(false);
    expect(set.fits(clusterConfig([ep(1)], { http: "1.1" }))).toBe(false);
  });
});

describe("EndpointSet.update (sources)", () => {
  it("merges every source's list, the config's first, an address once", () => {
    const set = setOf([ep(1)]);
    set.update("discovery", [ep(2), ep(1, 9)]);
    expect(set.list.map((e) => [e.address, e.weight])).toEqual([
      ["127.0.0.1:1", 1],
      ["127.0.0.1:2", 1],
    ]);
    set.update("discovery", []);
    expect(set.list.map((e) => e.address)).toEqual(["127.0.0.1:1"]);
    expect(set.otherSources()).toEqual([["discovery", []]]);
  });
});

describe("EndpointSet.setDrained (an operator's drain)", () => {
  it("takes the endpoint out of service until undrained, keeping its calls in flight and its connections", () => {
    const set = setOf([ep(1), ep(2)]);
    const e = set.get("127.0.0.1:2")!;
    e.enter(); // a call in flight
    expect(set.setDrained("127.0.0.1:2", true)).toBe(e);
    expect(e.unavailableReason()).toBe("drained by an operator");
    expect(e.isHealthy()).toBe(false);
    expect(e.inflight).toBe(1);
    e.leave(true, true);
    expect(set.setDrained("127.0.0.1:2", false)).toBe(e);
    expect(e.unavailableReason()).toBeUndefined();
    expect(set.drainedAddresses()).toEqual([]);
  });

  it("holds across updates of the sources while the address stays, and ends when it leaves", () => {
    const set = setOf([ep(1)]);
    set.update("discovery", [ep(2)]);
    set.setDrained("127.0.0.1:2", true);
    set.update("discovery", [ep(2, 5), ep(3)]); // reweighted, another added
    expect(set.get("127.0.0.1:2")!.drained).toBe(true);
    expect(set.get("127.0.0.1:3")!.drained).toBe(false);
    set.update("discovery", [ep(3)]);
    set.update("discovery", [ep(2), ep(3)]);
    expect(set.get("127.0.0.1:2")!.drained).toBe(false);
    expect(set.drainedAddresses()).toEqual([]);
  });

  it("logs each change once", () => {
    const events: string[] = [];
    const set = new EndpointSet(clusterConfig([ep(1)]), (m) => events.push(m));
    sets.push(set);
    set.setDrained("127.0.0.1:1", true);
    set.setDrained("127.0.0.1:1", true);
    set.setDrained("127.0.0.1:1", false);
    expect(events).toEqual([
      'cluster "echo" endpoint 127.0.0.1:1 drained by an operator',
      'cluster "echo" endpoint 127.0.0.1:1 undrained by an operator',
    ]);
  });

  it("answers undefined for an address the set does not have", () => {
    const set = setOf([ep(1)]);
    expect(set.setDrained("127.0.0.1:9", true)).toBeUndefined();
    expect(set.drainedAddresses()).toEqual([]);
  });
});

describe("EndpointSet endpoint-added notices", () => {
  it("announces endpoints added to a running set, not the ones it starts with", () => {
    const seen: string[] = [];
    const s = new EndpointSet(clusterConfig([ep(1)]), undefined, undefined, (cluster, address) =>
      seen.push(`${cluster} ${address}`),
    );
    sets.push(s);
    s.reconcile([ep(1), ep(2)]);
    expect(seen).toEqual([]);
    s.start();
    s.reconcile([ep(1), ep(2), ep(3)]);
    s.update("discovery", [ep(4)]);
    expect(seen).toEqual([`${s.clusterName} 127.0.0.1:3`, `${s.clusterName} 127.0.0.1:4`]);
  });
});
