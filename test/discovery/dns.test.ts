import { afterEach, describe, expect, it } from "vitest";
import { startReplica, type Replica } from "../../services/replica.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { demoDescriptors } from "../../gateway/demo.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import type { EndpointConfig } from "../../gateway/config/types.js";
import { DnsProvider, type DnsProviderOptions } from "../../gateway/discovery/dns-provider.js";
import { CLIENT_KINDS, callError, echoClient } from "../helpers/clients.js";
import { TestDnsServer } from "../helpers/dns-server.js";
import { describeLoad, runLoad } from "../chaos/load.js";

// A cluster whose endpoints come from a real DNS server (dns2, UDP on
// loopback) whose records the tests change, over real sockets.

const grpc = CLIENT_KINDS[0];
let replicas: Replica[] = [];
let gateway: Gateway | undefined;
let dnsServer: TestDnsServer | undefined;
let provider: DnsProvider | undefined;

afterEach(async () => {
  await provider?.stop();
  provider = undefined;
  await gateway?.close();
  gateway = undefined;
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
  await dnsServer?.stop();
  dnsServer = undefined;
});

async function start(
  dns: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<{ url: string; adminUrl: string }> {
  const config = await validateConfigObject(
    {
      listeners: [{ port: 0, host: "127.0.0.1" }],
      admin: { port: 0 },
      clusters: {
        echo: {
          protocol: "grpc",
          healthCheck: false,
          slowStart: "0s",
          discovery: { dns: { servers: [dnsServer!.address], ...dns } },
          ...extra,
        },
      },
      routes: [{ match: { prefix: "/" }, cluster: "echo" }],
    },
    process.cwd(),
  );
  gateway = await startGateway(config, { descriptors: demoDescriptors });
  return { url: `http://127.0.0.1:${gateway.ports[0]}`, adminUrl: `http://127.0.0.1:${gateway.adminPort}` };
}

async function repliesFrom(url: string, n: number): Promise<Set<string>> {
  const client = echoClient(grpc, url);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await client.echo({ message: "x" })).replica);
  return seen;
}

interface DiscoveryView {
  state: string;
  endpoints: number;
  error?: string;
}
async function discoveryState(adminUrl: string): Promise<DiscoveryView> {
  return ((await (await fetch(`${adminUrl}/ready`)).json()) as { discovery: DiscoveryView[] }).discovery[0];
}

/** Replicas on distinct loopback addresses sharing one port, as A records list them. */
async function replicasOnOnePort(hosts: Array<[name: string, host: string]>): Promise<Replica[]> {
  const first = await startReplica({ name: hosts[0][0], host: hosts[0][1] });
  const rest = await Promise.all(hosts.slice(1).map(([name, host]) => startReplica({ name, host, port: first.port })));
  return [first, ...rest];
}

/** Seconds until `check` passes, polling every 50 ms. */
async function secondsUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check().catch(() => false)) return (performance.now() - t0) / 1000;
    if (performance.now() - t0 > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sameSet = (a: Set<string>, b: string[]) => a.size === b.length && b.every((x) => a.has(x));

describe("discovery: dns, through the gateway", () => {
  it("A and AAAA records: one endpoint per address at `port`, followed within refresh", async () => {
    replicas = await replicasOnOnePort([
      ["r1", "127.0.0.2"],
      ["r2", "127.0.0.3"],
      ["r3", "::1"],
    ]);
    const port = replicas[0].port;
    dnsServer = await TestDnsServer.start({ "echo.test": { A: ["127.0.0.2"] } });
    const { url } = await start({ name: "echo.test", port, refresh: "1s" });
    await expect.poll(() => repliesFrom(url, 4).catch(() => new Set()), { timeout: 5000 }).toEqual(new Set(["r1"]));

    dnsServer.zone["echo.test"] = { A: ["127.0.0.2", "127.0.0.3"], AAAA: ["::1"] };
    const s = await secondsUntil(async () => sameSet(await repliesFrom(url, 12), ["r1", "r2", "r3"]), 5000);
    console.log(`[dns] A/AAAA change followed in ${s.toFixed(2)}s (refresh 1s)`);
    expect(s).toBeLessThan(2.5);
    expect(gateway!.discovery.status()[0]).toMatchObject({
      state: "ok",
      endpoints: 3,
      provider: `dns echo.test:${port}`,
    });
  });

  it("SRV records: targets, ports and weights from the records; SRV priority becomes the endpoint's priority level", async () => {
    replicas = await Promise.all(["r1", "r2", "r3"].map((name) => startReplica({ name })));
    const [r1, r2, r3] = replicas;
    dnsServer = await TestDnsServer.start({
      "_grpc._tcp.echo.test": {
        SRV: [
          { priority: 10, weight: 3, port: r1.port, target: "a.echo.test" },
          { priority: 10, weight: 1, port: r2.port, target: "b.echo.test" },
          { priority: 20, weight: 1, port: r3.port, target: "c.echo.test" },
        ],
      },
      "a.echo.test": { A: ["127.0.0.1"] },
      "b.echo.test": { A: ["127.0.0.1"] },
      "c.echo.test": { A: ["127.0.0.1"] },
    });
    const { url } = await start({ name: "_grpc._tcp.echo.test", refresh: "1s" });
    await expect
      .poll(() => repliesFrom(url, 8).catch(() => new Set()), { timeout: 5000 })
      .toEqual(new Set(["r1", "r2"]));
    const set = gateway!.clusters.endpointSet("echo")!;
    expect(set.list.map((e) => [e.address, e.weight, e.priority])).toEqual([
      [r1.address, 3, 0],
      [r2.address, 1, 0],
      [r3.address, 1, 1],
    ]);
    // Weighted round robin: r1 takes three of every four calls.
    const counts = new Map<string, number>();
    const client = echoClient(grpc, url);
    for (let i = 0; i < 40; i++) {
      const { replica } = await client.echo({ message: "x" });
      counts.set(replica, (counts.get(replica) ?? 0) + 1);
    }
    expect(counts.get("r1")).toBe(30);

    // The primary level goes: the standby takes over.
    dnsServer.zone["_grpc._tcp.echo.test"].SRV = [{ priority: 20, weight: 1, port: r3.port, target: "c.echo.test" }];
    await expect.poll(() => repliesFrom(url, 4), { timeout: 5000 }).toEqual(new Set(["r3"]));
  });

  it("a TTL shorter than refresh is honoured", async () => {
    replicas = await replicasOnOnePort([
      ["r1", "127.0.0.2"],
      ["r2", "127.0.0.3"],
    ]);
    dnsServer = await TestDnsServer.start({ "echo.test": { A: ["127.0.0.2"], ttl: 1 } });
    const { url } = await start({ name: "echo.test", port: replicas[0].port, refresh: "60s" });
    await expect.poll(() => repliesFrom(url, 4).catch(() => new Set()), { timeout: 5000 }).toEqual(new Set(["r1"]));
    dnsServer.zone["echo.test"] = { A: ["127.0.0.3"], ttl: 1 };
    const s = await secondsUntil(async () => sameSet(await repliesFrom(url, 4), ["r2"]), 5000);
    console.log(`[dns] TTL 1s with refresh 60s: change followed in ${s.toFixed(2)}s`);
    expect(s).toBeLessThan(2.5);
  });

  it("a failed connection to a resolved address re-resolves at once, not at the next refresh", async () => {
    replicas = await replicasOnOnePort([
      ["r1", "127.0.0.2"],
      ["r2", "127.0.0.3"],
    ]);
    const [, r2] = replicas;
    dnsServer = await TestDnsServer.start({ "echo.test": { A: ["127.0.0.2", "127.0.0.3"], ttl: 300 } });
    const { url } = await start({ name: "echo.test", port: replicas[0].port, refresh: "60s" });
    await expect
      .poll(() => repliesFrom(url, 8).catch(() => new Set()), { timeout: 5000 })
      .toEqual(new Set(["r1", "r2"]));
    const before = dnsServer.count("A", "echo.test");

    // The replica goes away and its record with it; the refresh is a minute off.
    dnsServer.zone["echo.test"] = { A: ["127.0.0.2"], ttl: 300 };
    await r2.close();
    replicas = [replicas[0]];
    const load = runLoad({
      total: 100_000,
      concurrency: 4,
      call: () => echoClient(grpc, url).echo({ message: "x" }),
      stopWhen: (_, s) => s > 3,
    });
    const s = await secondsUntil(async () => gateway!.clusters.endpointSet("echo")!.list.length === 1, 5000);
    const result = await load;
    console.log(
      `[dns] connection refused -> re-resolved and dropped in ${s.toFixed(2)}s (refresh 60s, TTL 300s);`,
      describeLoad("load meanwhile", result),
    );
    expect(s).toBeLessThan(2);
    expect(dnsServer.count("A", "echo.test")).toBeGreaterThan(before);
    expect(result.failed).toBe(0);
  });

  it("records changed under load are followed with zero failed calls", async () => {
    replicas = await replicasOnOnePort([
      ["r1", "127.0.0.2"],
      ["r2", "127.0.0.3"],
      ["r3", "127.0.0.4"],
    ]);
    dnsServer = await TestDnsServer.start({ "echo.test": { A: ["127.0.0.2", "127.0.0.3"], ttl: 1 } });
    const { url } = await start({ name: "echo.test", port: replicas[0].port, refresh: "1s" });
    await expect
      .poll(() => repliesFrom(url, 8).catch(() => new Set()), { timeout: 5000 })
      .toEqual(new Set(["r1", "r2"]));
    const client = echoClient(grpc, url);
    const late = new Set<string>();
    const t0 = performance.now();
    const result = await runLoad({
      total: 100_000,
      concurrency: 4,
      call: async () => {
        const t = performance.now();
        const { replica } = await client.echo({ message: "x" });
        if (t - t0 > 4000) late.add(replica);
      },
      onCall: (i) => {
        if (i === 200) dnsServer!.zone["echo.test"] = { A: ["127.0.0.3", "127.0.0.4"], ttl: 1 };
      },
      stopWhen: (_, s) => s > 5,
    });
    console.log(
      describeLoad("dns: A records r1,r2 -> r2,r3 under load", result),
      `replicas answering in the last second: ${[...late].sort()}`,
    );
    expect(result.failed).toBe(0);
    expect(late).toEqual(new Set(["r2", "r3"]));
  });

  it("a resolver that stops answering keeps the last set and /ready says failing; it recovers when it comes back", async () => {
    replicas = await replicasOnOnePort([
      ["r1", "127.0.0.2"],
      ["r2", "127.0.0.3"],
    ]);
    dnsServer = await TestDnsServer.start({ "echo.test": { A: ["127.0.0.2"], ttl: 1 } });
    const { url, adminUrl } = await start({ name: "echo.test", port: replicas[0].port, refresh: "1s" });
    await expect.poll(() => repliesFrom(url, 4).catch(() => new Set()), { timeout: 5000 }).toEqual(new Set(["r1"]));
    expect(await discoveryState(adminUrl)).toMatchObject({ state: "ok", endpoints: 1 });

    // Closed: the resolver gets "port unreachable" at once.
    await dnsServer.stop();
    await expect.poll(() => discoveryState(adminUrl).then((d) => d.state), { timeout: 5000 }).toBe("failing");
    const failing = await discoveryState(adminUrl);
    expect(failing.endpoints).toBe(1);
    expect(failing.error).toContain("ECONNREFUSED");
    expect(await repliesFrom(url, 4)).toEqual(new Set(["r1"]));

    // Back, with a change: followed within about one refresh (the retry backoff is capped at refresh).
    dnsServer.zone["echo.test"] = { A: ["127.0.0.2", "127.0.0.3"], ttl: 1 };
    await dnsServer.start();
    const s = await secondsUntil(
      async () => (await discoveryState(adminUrl)).state === "ok" && sameSet(await repliesFrom(url, 8), ["r1", "r2"]),
      5000,
    );
    console.log(`[dns] resolver back: recovered in ${s.toFixed(2)}s`);

    // Up but silent: queries time out (about 2 × 2 s), the set stays.
    dnsServer.mode = "silent";
    await expect.poll(() => discoveryState(adminUrl).then((d) => d.state), { timeout: 10_000 }).toBe("failing");
    expect((await discoveryState(adminUrl)).error).toContain("ETIMEOUT");
    expect(await repliesFrom(url, 8)).toEqual(new Set(["r1", "r2"]));
    dnsServer.mode = "answer";
    await expect.poll(() => discoveryState(adminUrl).then((d) => d.state), { timeout: 10_000 }).toBe("ok");
  });

  it("SERVFAIL keeps the last set; NXDOMAIN (the name deleted) empties it", async () => {
    replicas = await replicasOnOnePort([["r1", "127.0.0.2"]]);
    dnsServer = await TestDnsServer.start({ "echo.test": { A: ["127.0.0.2"], ttl: 1 } });
    const { url, adminUrl } = await start({ name: "echo.test", port: replicas[0].port, refresh: "1s" });
    await expect.poll(() => repliesFrom(url, 2).catch(() => new Set()), { timeout: 5000 }).toEqual(new Set(["r1"]));

    dnsServer.mode = "servfail";
    await expect.poll(() => discoveryState(adminUrl).then((d) => d.state), { timeout: 5000 }).toBe("failing");
    expect((await discoveryState(adminUrl)).error).toContain("ESERVFAIL");
    expect(await repliesFrom(url, 2)).toEqual(new Set(["r1"]));

    dnsServer.mode = "answer";
    delete dnsServer.zone["echo.test"];
    await expect
      .poll(
        () =>
          callError(echoClient(grpc, url).echo({ message: "x" })).then(
            (e) => e.rawMessage,
            () => "",
          ),
        { timeout: 5000 },
      )
      .toContain('cluster "echo" has no endpoints');
    expect(await discoveryState(adminUrl)).toMatchObject({ state: "ok", endpoints: 0 });
  });
});

describe("discovery: dns provider", () => {
  function run(opts: Partial<DnsProviderOptions> & { name: string }): { lists: EndpointConfig[][]; errors: Error[] } {
    const out = { lists: [] as EndpointConfig[][], errors: [] as Error[] };
    provider = new DnsProvider({ port: undefined, refreshMs: 60_000, servers: [dnsServer!.address], ...opts });
    provider.start({ list: (l) => out.lists.push(l), error: (e) => out.errors.push(e) });
    return out;
  }

  it("SRV: priorities by rank (capped at 10), weights clamped to 1..1000, a '.' target skipped, IPv6 as [v6]:port, one address counted once", async () => {
    dnsServer = await TestDnsServer.start({
      "_grpc._tcp.x.test": {
        SRV: [
          { priority: 5, weight: 0, port: 7001, target: "a.x.test" },
          { priority: 50, weight: 5000, port: 7002, target: "b.x.test" },
          { priority: 7, weight: 2, port: 7003, target: "." },
          { priority: 50, weight: 9, port: 7001, target: "a.x.test" },
        ],
      },
      "a.x.test": { A: ["10.0.0.1"], ttl: 30 },
      "b.x.test": { A: ["10.0.0.2"], AAAA: ["fd00::2"], ttl: 7 },
    });
    const out = run({ name: "_grpc._tcp.x.test" });
    await expect.poll(() => out.lists.length).toBe(1);
    expect(out.lists[0].map((e) => [e.address, e.weight, e.priority])).toEqual([
      ["10.0.0.1:7001", 1, 0],
      ["10.0.0.2:7002", 1000, 1],
      ["[fd00::2]:7002", 1000, 1],
    ]);
    expect(out.lists[0][2]).toMatchObject({ host: "fd00::2", port: 7002 });
    expect(out.errors).toEqual([]);
  });

  it("nudges re-resolve at most once a second, and not while failing", async () => {
    dnsServer = await TestDnsServer.start({ "n.test": { A: ["10.0.0.1"], ttl: 300 } });
    const out = run({ name: "n.test", port: 80 });
    await expect.poll(() => out.lists.length).toBe(1);
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < 20; i++) provider!.nudge();
    await expect.poll(() => out.lists.length).toBe(2);
    for (let i = 0; i < 20; i++) provider!.nudge();
    await new Promise((r) => setTimeout(r, 500));
    expect(out.lists.length).toBe(2);
    await expect.poll(() => out.lists.length, { timeout: 2000 }).toBe(3);
    await new Promise((r) => setTimeout(r, 1500));
    expect(out.lists.length).toBe(3);

    dnsServer.mode = "servfail";
    provider!.nudge();
    await expect.poll(() => out.errors.length, { timeout: 3000 }).toBe(1);
    const queries = dnsServer.count("A", "n.test");
    for (let i = 0; i < 20; i++) provider!.nudge();
    await new Promise((r) => setTimeout(r, 200));
    // The backoff's first retry is 0.4-0.6 s away; nudges do not bring it forward.
    expect(dnsServer.count("A", "n.test")).toBe(queries);
  });
});
