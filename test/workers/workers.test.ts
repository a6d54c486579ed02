import net from "node:net";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startReplica, type Replica } from "../../services/replica.js";
import { spawnCli, type CliProcess } from "../helpers/cli-process.js";
import { eventually, startGroup, type WorkerGroup } from "./group.js";
import { listeningOwners } from "./socket-owner.js";
import { reusePortSupport } from "../../gateway/listener/reuse-port.js";

// `workers: 2` as users run it: the CLI as a real process group (a primary
// and two node:cluster workers), replicas on loopback, and for each call the
// worker that served it, read from /proc (socket-owner.ts).

let replicas: Replica[] = [];
let group: WorkerGroup | undefined;
let cli: CliProcess | undefined;
let dir: string | undefined;
afterEach(async () => {
  group?.cli.kill();
  cli?.kill();
  await group?.cli.exited().catch(() => {});
  group = undefined;
  cli = undefined;
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** "connected", or the error code a fresh TCP connection gets. */
function tcpConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve("connected");
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** Written as config managers do: a new file renamed over the old. */
function write(name: string, value: unknown): string {
  const path = join(dir!, name);
  writeFileSync(`${path}.tmp`, JSON.stringify(value));
  renameSync(`${path}.tmp`, path);
  return path;
}

function config(clusters: Record<string, unknown>, route: string, extra: Record<string, unknown> = {}) {
  return {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    admin: { port: 0 },
    workers: 2,
    clusters,
    routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: route }],
    ...extra,
  };
}

const cluster = (...rs: Replica[]) => ({
  protocol: "grpc",
  slowStart: "0s",
  healthCheck: { interval: "200ms", timeout: "150ms", unhealthyThreshold: 1, healthyThreshold: 1 },
  endpoints: rs.map((r) => r.address),
});

async function start(...names: string[]): Promise<Replica[]> {
  dir = mkdtempSync(join(tmpdir(), "switchyard-workers-"));
  replicas = await Promise.all(names.map((name) => startReplica({ name })));
  return replicas;
}

/** Every call answered by `replica`, and the calls spread over both workers. */
async function expectEveryWorkerAnswers(g: WorkerGroup, replica: string, n = 8, port?: number): Promise<void> {
  const calls = await g.freshCalls(n, port);
  expect(calls.map((c) => c.replica)).toEqual(calls.map(() => replica));
  const pids = (await g.workers()).map((w) => w.pid).sort();
  expect([...new Set(calls.map((c) => c.pid))].sort()).toEqual(pids);
}

describe("workers: 2", { timeout: 120_000 }, () => {
  it("serves from two worker processes, spread round-robin, each reporting on GET /workers", async () => {
    const [r1] = await start("r1");
    const path = write("gateway.yaml", config({ a: cluster(r1!) }, "a"));
    group = await startGroup(["--config", path]);
    const workers = await group.workers();
    expect(workers.map((w) => w.state)).toEqual(["serving", "serving"]);
    expect(new Set(workers.map((w) => w.pid)).size).toBe(2);
    expect(workers[0]!.clusters).toMatchObject([
      { name: "a", endpoints: [{ address: r1!.address, breaker: "closed", inflight: 0, callsPerSecond: 0 }] },
    ]);
    await expectEveryWorkerAnswers(group, "r1");
  });

  it("SIGHUP: the primary reloads and every worker serves the new config", async () => {
    const [r1, r2] = await start("r1", "r2");
    const clusters = { a: cluster(r1!), b: cluster(r2!) };
    const path = write("gateway.yaml", config(clusters, "a"));
    group = await startGroup(["--config", path]);
    await expectEveryWorkerAnswers(group, "r1");

    write("gateway.yaml", config(clusters, "b"));
    group.cli.child.kill("SIGHUP");
    await group.cli.waitForStdout(/reload \(SIGHUP\): config reloaded; changed: routes/, 30_000);
    await expectEveryWorkerAnswers(group, "r2");
    expect((await group.workers()).map((w) => w.state)).toEqual(["serving", "serving"]);
  });

  it("POST /reload answers for the group; an added listener serves on every worker, a removed one stops accepting", async () => {
    const [r1] = await start("r1");
    const [a, b] = [await freePort(), await freePort()];
    const listener = (port: number) => ({ port, host: "127.0.0.1" });
    const path = write("gateway.yaml", { ...config({ a: cluster(r1!) }, "a"), listeners: [listener(a)] });
    group = await startGroup(["--config", path]);
    const reload = async () => {
      const res = await fetch(`http://127.0.0.1:${group!.adminPort}/reload`, { method: "POST" });
      return { code: res.status, body: (await res.json()) as { status: string; changed: string[] } };
    };

    write("gateway.yaml", { ...config({ a: cluster(r1!) }, "a"), listeners: [listener(a), listener(b)] });
    expect(await reload()).toMatchObject({
      code: 200,
      body: { status: "reloaded", changed: [`listeners[1] 127.0.0.1:${b} (added)`] },
    });
    await expectEveryWorkerAnswers(group, "r1", 8, b);

    write("gateway.yaml", { ...config({ a: cluster(r1!) }, "a"), listeners: [listener(b)] });
    expect(await reload()).toMatchObject({ code: 200, body: { status: "reloaded" } });
    expect(await tcpConnect(a)).toBe("ECONNREFUSED");
    await expectEveryWorkerAnswers(group, "r1", 8, b);
    expect((await reload()).body.status).toBe("unchanged");
  });

  it("the primary killed with kill -9: its workers drain and exit on their own", async () => {
    const [r1] = await start("r1");
    const path = write("gateway.yaml", config({ a: cluster(r1!) }, "a"));
    group = await startGroup(["--config", path]);
    const pids = (await group.workers()).map((w) => w.pid);
    group.cli.child.kill("SIGKILL");
    await eventually("every worker has exited", 20_000, async () =>
      pids.every((pid) => !alive(pid)) ? true : undefined,
    );
  });

  it("discovery runs in the primary, and what it finds reaches every worker", async () => {
    const [r1, r2] = await start("r1", "r2");
    write("endpoints.yaml", [r1!.address]);
    const path = write(
      "gateway.yaml",
      config({ echo: { protocol: "grpc", slowStart: "0s", discovery: { file: { path: "endpoints.yaml" } } } }, "echo"),
    );
    group = await startGroup(["--config", path]);
    await expectEveryWorkerAnswers(group, "r1");

    write("endpoints.yaml", [r2!.address]);
    const g = group;
    await eventually("every worker follows the new list", 20_000, async () => {
      const ws = await g.workers();
      const lists = ws.map((w) => w.clusters?.[0]?.endpoints.map((e) => e.address).join());
      return lists.every((l) => l === r2!.address) ? true : undefined;
    });
    await expectEveryWorkerAnswers(group, "r2");
    // The primary logs it once; workers run no provider of their own.
    expect(group.cli.stdout().match(/discovery: added/g)).toHaveLength(2);
  });

  it("health checks run in the primary; a failing endpoint is out on every worker", async () => {
    const [r1, r2] = await start("r1", "r2");
    const path = write("gateway.yaml", config({ a: cluster(r1!, r2!) }, "a"));
    group = await startGroup(["--config", path]);
    r1!.health.setServing(false);
    const g = group;
    const ws = await eventually("every worker has r1 out", 20_000, async () => {
      const ws = await g.workers();
      const out = ws.map((w) => w.clusters![0]!.endpoints.find((e) => e.address === r1!.address)?.unavailable);
      return out.every((u) => u === "failing health checks") ? ws : undefined;
    });
    expect(ws).toHaveLength(2);
    await expectEveryWorkerAnswers(group, "r2");
    // One line from the primary's checks, not one per worker.
    expect(group.cli.stdout().match(new RegExp(`${r1!.address} unhealthy`, "g"))).toHaveLength(1);
  });

  it("SIGTERM: every worker drains; streams in flight on each finish, then the group exits 0", async () => {
    const [r1] = await start("r1");
    const path = write("gateway.yaml", config({ a: cluster(r1!) }, "a", { drainTimeout: "10s" }));
    group = await startGroup(["--config", path]);
    const pids = (await group.workers()).map((w) => w.pid);
    // Connections until each worker has one (round-robin: two or three).
    const byWorker = await group.connectionPerWorker(pids, 8);
    expect([...byWorker.keys()].sort()).toEqual([...pids].sort());

    let second = 0;
    const g = group;
    const streams = [...byWorker.values()].map((conn) =>
      conn.count(10, 100, (n) => {
        if (n === 2 && ++second === byWorker.size) g.cli.child.kill("SIGTERM");
      }),
    );
    const results = await Promise.allSettled(streams);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : String(r.reason)))).toEqual(
      [...byWorker.keys()].map(() => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
    );
    expect(await group.cli.exited(20_000)).toEqual({ code: 0, signal: null });
    for (const c of byWorker.values()) c.close();
  });

  it("reusePort: each worker binds the port where Node and the OS can; elsewhere the primary accepts, and says why", async () => {
    const [r1] = await start("r1");
    const port = await freePort();
    const path = write("gateway.yaml", {
      ...config({ a: cluster(r1!) }, "a"),
      listeners: [{ port, host: "127.0.0.1", reusePort: true }],
    });
    group = await startGroup(["--config", path]);
    const primary = group.cli.child.pid!;
    const pids = (await group.workers()).map((w) => w.pid);
    const support = reusePortSupport();
    if (support.ok) {
      expect(listeningOwners(port, [primary, ...pids])).toEqual([...pids].sort());
    } else {
      expect(listeningOwners(port, [primary, ...pids])).toEqual([primary]);
      expect(group.cli.stdout()).toContain(
        `listeners[0].reusePort: ${support.why}; connections are handed round-robin`,
      );
    }
    // The kernel spreads by a hash of the addresses: 24 connections all on one of two sockets is a 1-in-8-million chance.
    await expectEveryWorkerAnswers(group, "r1", 24);
  });

  it("a port that cannot be bound: the group does not start, and says why", async () => {
    await start();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const port = (taken.address() as net.AddressInfo).port;
      const path = write("gateway.yaml", {
        ...config({ a: { protocol: "grpc", endpoints: ["127.0.0.1:1"] } }, "a"),
        listeners: [{ port, host: "127.0.0.1" }],
      });
      cli = spawnCli(["--config", path]);
      expect(await cli.exited(60_000)).toEqual({ code: 1, signal: null });
      expect(cli.stderr()).toContain("EADDRINUSE");
    } finally {
      taken.close();
    }
  });

  it("refuses a --workers that is not a count or auto", async () => {
    cli = spawnCli(["--demo", "--workers", "0"]);
    expect(await cli.exited()).toEqual({ code: 2, signal: null });
    expect(cli.stderr()).toContain('--workers must be auto or a whole number from 1 to 1024, got "0"');
  });
});
