import { afterEach, describe, expect, it } from "vitest";
import { Etcd3 } from "etcd3";
import { startReplica, type Replica } from "../../services/replica.js";
import { registerInEtcd, type Registration } from "../../services/register-etcd.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { demoDescriptors } from "../../gateway/demo.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { CLIENT_KINDS, echoClient } from "../helpers/clients.js";
import { startEtcd, type EtcdServer } from "../helpers/etcd.js";

// A cluster whose endpoints come from a real etcd (test/helpers/etcd.ts),
// in grpc-go's resolver layout, over real sockets.

const grpc = CLIENT_KINDS[0];
const PREFIX = "/services/echo/";
let etcd: EtcdServer | undefined;
let client: Etcd3 | undefined;
let replicas: Replica[] = [];
let gateways: Gateway[] = [];
let registrations: Registration[] = [];

afterEach(async () => {
  await Promise.all(registrations.map((r) => r.deregister(500)));
  registrations = [];
  await Promise.all(gateways.map((g) => g.close()));
  gateways = [];
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
  client?.close();
  client = undefined;
  await etcd?.stop();
  etcd = undefined;
});

async function setup(names: string[]): Promise<{ etcd: EtcdServer; kv: Etcd3; replicas: Replica[] }> {
  etcd = await startEtcd();
  client = new Etcd3({ hosts: etcd.url });
  replicas = await Promise.all(names.map((name) => startReplica({ name })));
  return { etcd, kv: client, replicas };
}

async function start(): Promise<{ url: string; adminUrl: string; gateway: Gateway }> {
  const config = await validateConfigObject(
    {
      listeners: [{ port: 0, host: "127.0.0.1" }],
      admin: { port: 0 },
      clusters: {
        echo: {
          protocol: "grpc",
          healthCheck: false,
          slowStart: "0s",
          discovery: { etcd: { endpoints: [etcd!.url], prefix: PREFIX } },
        },
      },
      routes: [{ match: { prefix: "/" }, cluster: "echo" }],
    },
    process.cwd(),
  );
  const gateway = await startGateway(config, { descriptors: demoDescriptors });
  gateways.push(gateway);
  return { url: `http://127.0.0.1:${gateway.ports[0]}`, adminUrl: `http://127.0.0.1:${gateway.adminPort}`, gateway };
}

const registration = (r: Replica, metadata?: unknown) =>
  JSON.stringify(metadata === undefined ? { Addr: r.address } : { Addr: r.address, Metadata: metadata });

async function repliesFrom(url: string, n: number): Promise<Set<string>> {
  const c = echoClient(grpc, url);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await c.echo({ message: "x" })).replica);
  return seen;
}

type Ready = { discovery: Array<{ state: string; endpoints: number; error?: string; skipped?: string[] }> };
const ready = async (adminUrl: string) => ((await (await fetch(`${adminUrl}/ready`)).json()) as Ready).discovery[0];

describe("discovery: etcd", () => {
  it("follows puts, deletes and expired leases under the prefix; a malformed value is skipped, the rest kept", async () => {
    const {
      kv,
      replicas: [r1, r2, r3],
    } = await setup(["r1", "r2", "r3"]);
    await kv.put(`${PREFIX}r1`).value(registration(r1, { weight: 1, zone: "a" }));
    const { url, adminUrl } = await start();
    await expect.poll(() => repliesFrom(url, 4).catch(() => new Set()), { timeout: 5000 }).toEqual(new Set(["r1"]));

    await kv.put(`${PREFIX}r2`).value(registration(r2));
    await expect.poll(() => repliesFrom(url, 8), { timeout: 5000 }).toEqual(new Set(["r1", "r2"]));

    // A registrant that writes garbage is named and skipped; everyone else stays.
    await kv.put(`${PREFIX}broken`).value("127.0.0.1:1");
    await expect
      .poll(async () => (await ready(adminUrl)).skipped, { timeout: 5000 })
      .toEqual([expect.stringContaining(`key ${PREFIX}broken: value`)]);
    expect((await ready(adminUrl)).state).toBe("ok");
    expect(await repliesFrom(url, 8)).toEqual(new Set(["r1", "r2"]));

    await kv.delete().key(`${PREFIX}r1`);
    await expect.poll(() => repliesFrom(url, 8), { timeout: 5000 }).toEqual(new Set(["r2"]));

    // A key on a lease nobody renews: listed, then gone when the lease expires
    // (etcd's shortest TTL here is about 2 s).
    const lease = kv.lease(1, { autoKeepAlive: false });
    await lease.put(`${PREFIX}r3`).value(registration(r3));
    await expect.poll(() => repliesFrom(url, 8), { timeout: 5000 }).toEqual(new Set(["r2", "r3"]));
    await expect.poll(() => repliesFrom(url, 8), { timeout: 10_000, interval: 250 }).toEqual(new Set(["r2"]));
    expect((await ready(adminUrl)).endpoints).toBe(1);
  });

  it("etcd down: the last set keeps serving with zero failures and /ready says failing; a replica that registered meanwhile appears once etcd is back", async () => {
    const {
      etcd,
      replicas: [r1, r2, r3],
    } = await setup(["r1", "r2", "r3"]);
    registrations.push(registerInEtcd({ endpoints: [etcd.url], prefix: PREFIX }, r1.address));
    registrations.push(registerInEtcd({ endpoints: [etcd.url], prefix: PREFIX }, r2.address));
    const { url, adminUrl } = await start();
    await expect
      .poll(() => repliesFrom(url, 8).catch(() => new Set()), { timeout: 5000 })
      .toEqual(new Set(["r1", "r2"]));

    await etcd.kill();
    await expect.poll(async () => (await ready(adminUrl)).state, { timeout: 5000 }).toBe("failing");
    const failing = await ready(adminUrl);
    expect(failing.endpoints).toBe(2);
    expect(failing.error).toContain("etcd");
    // The last good set serves on, every call.
    const c = echoClient(grpc, url);
    const during = new Set<string>();
    for (let i = 0; i < 40; i++) during.add((await c.echo({ message: `down ${i}` })).replica);
    expect(during).toEqual(new Set(["r1", "r2"]));

    // r3 starts while etcd is down; its registration waits for etcd.
    registrations.push(registerInEtcd({ endpoints: [etcd.url], prefix: PREFIX }, r3.address));
    await etcd.restart(); // same data dir: r1 and r2's leases survive
    await expect
      .poll(() => repliesFrom(url, 12), { timeout: 15_000, interval: 250 })
      .toEqual(new Set(["r1", "r2", "r3"]));
    expect((await ready(adminUrl)).state).toBe("ok");
  });

  it("etcd down at start is a failure, not an empty answer; the endpoints come once etcd answers", async () => {
    const {
      etcd,
      kv,
      replicas: [r1],
    } = await setup(["r1"]);
    await kv.put(`${PREFIX}r1`).value(registration(r1));
    await etcd.kill();
    const { url, adminUrl } = await start();
    await expect.poll(async () => (await ready(adminUrl)).state, { timeout: 5000 }).toBe("failing");
    await etcd.restart();
    await expect
      .poll(() => repliesFrom(url, 2).catch(() => new Set()), { timeout: 15_000, interval: 250 })
      .toEqual(new Set(["r1"]));
  });

  it("two gateways on one etcd see the same endpoints", async () => {
    const {
      kv,
      replicas: [r1, r2],
    } = await setup(["r1", "r2"]);
    const [a, b] = [await start(), await start()];
    await kv.put(`${PREFIX}r1`).value(registration(r1));
    await kv.put(`${PREFIX}r2`).value(registration(r2, { weight: 3 }));
    for (const g of [a, b])
      await expect
        .poll(() => repliesFrom(g.url, 8).catch(() => new Set()), { timeout: 5000 })
        .toEqual(new Set(["r1", "r2"]));
    const weights = (g: Gateway) =>
      g.clusters
        .endpointSet("echo")!
        .list.map((e) => `${e.address}=${e.weight}`)
        .sort();
    expect(weights(a.gateway)).toEqual(weights(b.gateway));
    expect(weights(a.gateway)).toContain(`${r2.address}=3`);
    await kv.delete().key(`${PREFIX}r1`);
    for (const g of [a, b]) await expect.poll(() => repliesFrom(g.url, 8), { timeout: 5000 }).toEqual(new Set(["r2"]));
  });
});

describe("test/helpers/etcd.ts", () => {
  it("fails loudly, never skips, when etcd is not installed (CI=true)", async () => {
    const saved = { PATH: process.env.PATH, CI: process.env.CI };
    process.env.PATH = "/nonexistent";
    process.env.CI = "true";
    try {
      await expect(startEtcd()).rejects.toThrow(
        /etcd is not on PATH on this CI machine.*apt-get install -y etcd-server/,
      );
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.CI === undefined) delete process.env.CI;
      else process.env.CI = saved.CI;
    }
  });
});
