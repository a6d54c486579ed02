import { afterEach, describe, expect, it } from "vitest";
import { ClusterManager } from "../cluster/cluster-manager.js";
import { DiscoveryManager } from "./discovery-manager.js";
import { DiscoveryRelay, DiscoveryTap, type DiscoveredList } from "./relay.js";
import type { ProviderSink } from "./provider.js";
import type { ClusterConfig, DiscoveryConfig } from "../config/types.js";
import { clusterConfig, endpointAt as ep } from "../../test/helpers/cluster-config.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** A provider the test answers for: `sinks[path]` is where its lists go. */
function scripted() {
  const sinks = new Map<string, ProviderSink>();
  const nudged: string[] = [];
  const create = (d: DiscoveryConfig) => {
    const path = d.kind === "file" ? d.path : d.kind;
    return {
      description: `scripted ${path}`,
      start: (sink: ProviderSink) => void sinks.set(path, sink),
      stop: async () => void sinks.delete(path),
      nudge: () => void nudged.push(path),
    };
  };
  return { sinks, nudged, create };
}

function withDiscovery(path: string): Map<string, ClusterConfig> {
  return new Map([["echo", { ...clusterConfig([]), discovery: { kind: "file", path } }]]);
}

/** A ClusterManager and DiscoveryManager pair, as each process has. */
function side(factory: ConstructorParameters<typeof DiscoveryManager>[2]) {
  const clusters = new ClusterManager();
  const discovery = new DiscoveryManager(clusters, () => {}, factory);
  closers.push(async () => {
    await discovery.close();
    await clusters.close();
  });
  const apply = (c: Map<string, ClusterConfig>) => {
    clusters.apply(c);
    discovery.apply(c);
  };
  const addresses = () => clusters.endpointSet("echo")?.list.map((e) => e.address);
  return { clusters, discovery, apply, addresses };
}

describe("discovery run in one process and followed in others", () => {
  it("what the primary's provider finds reaches the worker's endpoint set; a worker's nudge reaches the provider", () => {
    const s = scripted();
    const relays: DiscoveryRelay[] = [];
    const tap = new DiscoveryTap((l) => relays.forEach((r) => r.list(l)), s.create);
    const primary = side(tap.factory);
    const toPrimary: string[] = [];
    const relay = new DiscoveryRelay((cluster) => {
      toPrimary.push(cluster);
      primary.discovery.nudge(cluster);
    });
    relays.push(relay);
    const worker = side(relay.factory);

    primary.apply(withDiscovery("/a.yaml"));
    worker.apply(withDiscovery("/a.yaml"));
    s.sinks.get("/a.yaml")!.list([ep(1), ep(2)]);
    expect(primary.addresses()).toEqual(["127.0.0.1:1", "127.0.0.1:2"]);
    expect(worker.addresses()).toEqual(["127.0.0.1:1", "127.0.0.1:2"]);

    relay.factory("echo", { kind: "file", path: "/a.yaml" }).nudge!();
    expect(toPrimary).toEqual(["echo"]);
    expect(s.nudged).toEqual(["/a.yaml"]);
  });

  it("a worker that starts late catches up from latest(); a list from other settings is not applied", () => {
    const s = scripted();
    const tap = new DiscoveryTap(() => {}, s.create);
    const primary = side(tap.factory);
    primary.apply(withDiscovery("/a.yaml"));
    s.sinks.get("/a.yaml")!.list([ep(3)], ["bad entry"]);

    const relay = new DiscoveryRelay();
    for (const l of tap.latest()) relay.list(l);
    const worker = side(relay.factory);
    worker.apply(withDiscovery("/a.yaml"));
    expect(worker.addresses()).toEqual(["127.0.0.1:3"]);

    // The worker moved to other settings before the primary: the old provider's answer stays out.
    worker.apply(withDiscovery("/b.yaml"));
    const stale: DiscoveredList = { cluster: "echo", key: tap.latest()[0]!.key, endpoints: [ep(4)], skipped: [] };
    relay.list(stale);
    expect(worker.addresses()).toEqual([]);
  });

  it("a stopped provider's answer is no longer latest", async () => {
    const s = scripted();
    const tap = new DiscoveryTap(() => {}, s.create);
    const primary = side(tap.factory);
    primary.apply(withDiscovery("/a.yaml"));
    s.sinks.get("/a.yaml")!.list([ep(1)]);
    primary.apply(new Map([["echo", clusterConfig([])]]));
    expect(tap.latest()).toEqual([]);
  });
});
