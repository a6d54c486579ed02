import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService, BreakerState, EndpointState } from "../../gen/switchyard/admin/v1/admin_pb.js";
import { startReplica, type Replica } from "../../services/replica.js";
import { CallFailed, type PinnedConnection } from "./pinned-connection.js";
import { startEchoGroup, type WorkerGroup } from "./group.js";

// Issue 15: "the admin API answers for the whole process group". The CLI
// with `workers: 2` as a real process group, calls spread over both workers
// on connections whose worker is known (socket-owner.ts), and the primary's
// AdminService called over gRPC as operators and the dashboard do.

let replicas: Replica[] = [];
let group: WorkerGroup | undefined;
let dir: string | undefined;
/** Worker pids a test stopped (SIGSTOP): killed afterwards, as a stopped process ignores everything else. */
const stopped: number[] = [];
afterEach(async () => {
  for (const pid of stopped.splice(0)) signal(pid, "SIGKILL");
  group?.cli.kill();
  await group?.cli.exited().catch(() => {});
  group = undefined;
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

async function start(...names: string[]): Promise<Replica[]> {
  dir = mkdtempSync(join(tmpdir(), "switchyard-group-admin-"));
  replicas = await Promise.all(names.map((name) => startReplica({ name })));
  return replicas;
}

/** The group for `rs`, started in this test's folder. */
async function startGroupOf(rs: Replica[], cluster: Record<string, unknown> = {}): Promise<WorkerGroup> {
  group = await startEchoGroup(
    dir!,
    rs.map((r) => r.address),
    cluster,
  );
  return group;
}

const adminOf = (g: WorkerGroup): Client<typeof AdminService> =>
  createClient(AdminService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${g.adminPort}` }));

describe("the admin API with workers: 2", { timeout: 120_000 }, () => {
  it("ListClusters adds up both workers: calls, errors, latency histograms and calls in flight", async () => {
    const [r1] = await start("r1");
    // No breaker or ejection: the failing calls must all reach the replica.
    const g = await startGroupOf([r1!], { circuitBreaker: false, outlierDetection: false });
    const admin = adminOf(g);
    const pids = await g.serving(2);
    const conns = await g.connectionPerWorker(pids);
    expect([...conns.keys()].sort()).toEqual([...pids].sort());
    const [one, two] = [...conns.values()] as [PinnedConnection, PinnedConnection];

    // Worker one: 30 good calls and 10 failing. Worker two: 8 good calls and 3 slow streams (about 300 ms each).
    for (let i = 0; i < 30; i++) await one.echo("ok");
    for (let i = 0; i < 10; i++) {
      await expect(one.echo("fail", 5000, { "x-echo-fail": "internal" })).rejects.toThrow(CallFailed);
    }
    for (let i = 0; i < 8; i++) await two.echo("ok");
    for (let i = 0; i < 3; i++) expect(await two.count(2, 300, () => {})).toEqual([1, 2]);

    // And a long stream on each worker, in flight while the admin API is asked.
    let started = 0;
    let ready!: () => void;
    const bothStarted = new Promise<void>((resolve) => (ready = resolve));
    const long = [one, two].map((c) => c.count(3, 1500, (n) => n === 1 && ++started === 2 && ready()));
    await bothStarted;

    const view = await admin.listClusters({});
    const perWorker = await g.workers();
    const ep = view.clusters[0]!.endpoints[0]!;
    // Every attempt reaches the replica (no retries here); the two streams still running are not counted yet.
    const ended = r1!.stats.calls.Echo + r1!.stats.calls.Count - 2;

    expect(view.workers).toBe(2);
    expect(ep.address).toBe(r1!.address);
    expect(ep.inFlight).toBe(2);
    expect(perWorker.map((w) => w.clusters![0]!.endpoints[0]!.inflight)).toEqual([1, 1]);
    // 10 failures in every attempt either worker saw: worker one alone would say 10/(40 + its share of
    // connectionPerWorker's calls), worker two alone 0.
    expect(ep.errorRate).toBeCloseTo(10 / ended, 9);
    // The group's median is a fast call and its p99 a slow stream (3 of about 60 attempts, all on worker
    // two); an average of each worker's percentiles would put the median near worker two's.
    expect(ep.latencyP50Ms).toBeLessThan(100);
    expect(ep.latencyP99Ms).toBeGreaterThan(200);
    // Calls per second: the sum of each worker's own, read a moment apart.
    const rates = perWorker.map((w) => w.clusters![0]!.endpoints[0]!.callsPerSecond);
    for (const r of rates) expect(r).toBeGreaterThan(0);
    const sum = rates[0]! + rates[1]!;
    expect(ep.callsPerSecond).toBeGreaterThan(sum * 0.9);
    expect(ep.callsPerSecond).toBeLessThan(sum * 1.1);
    expect(ep).toMatchObject({ state: EndpointState.HEALTHY, breaker: BreakerState.CLOSED, breakerOpenWorkers: 0 });

    expect(await Promise.all(long)).toEqual([
      [1, 2, 3],
      [1, 2, 3],
    ]);
    for (const c of conns.values()) c.close();
  });

  it("DrainEndpoint takes the endpoint out on every worker, and on a replacement started after kill -9", async () => {
    const [r1, r2] = await start("r1", "r2");
    const g = await startGroupOf([r1!, r2!]);
    const admin = adminOf(g);
    const pids = await g.serving(2);
    const conns = await g.connectionPerWorker(pids);
    expect(conns.size).toBe(2);

    const drained = await admin.drainEndpoint({ cluster: "a", address: r1!.address });
    expect(drained.endpoint).toMatchObject({
      address: r1!.address,
      drained: true,
      state: EndpointState.DRAINING,
      unavailableReason: "drained by an operator",
    });
    for (const conn of conns.values()) {
      const answers = [];
      for (let i = 0; i < 10; i++) answers.push(await conn.echo("x"));
      expect(answers).toEqual(answers.map(() => "r2"));
    }
    const onWorkers = (await g.workers()).map(
      (w) => w.clusters![0]!.endpoints.find((e) => e.address === r1!.address)?.unavailable,
    );
    expect(onWorkers).toEqual(["drained by an operator", "drained by an operator"]);

    // One worker killed: its replacement starts with the drain.
    const victim = pids[0]!;
    signal(victim, "SIGKILL");
    const [fresh] = await g.serving(1, pids);
    expect(await g.serving(2)).toContain(fresh);
    const [conn] = [...(await g.connectionPerWorker([fresh!])).values()];
    expect(conn).toBeDefined();
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await conn!.echo("x"));
    expect(answers).toEqual(answers.map(() => "r2"));
    const listed = await admin.listClusters({});
    expect(listed.workers).toBe(2);
    expect(listed.clusters[0]!.endpoints.find((e) => e.address === r1!.address)).toMatchObject({
      state: EndpointState.DRAINING,
      drained: true,
    });

    // Undrained: back on every worker, the replacement included.
    const undrained = await admin.undrainEndpoint({ cluster: "a", address: r1!.address });
    expect(undrained.endpoint).toMatchObject({ drained: false, state: EndpointState.HEALTHY, unavailableReason: "" });
    for (const c of [conn!, ...[...conns.entries()].filter(([pid]) => pid !== victim).map(([, c]) => c)]) {
      const seen = new Set<string>();
      for (let i = 0; i < 10; i++) seen.add(await c.echo("x"));
      expect([...seen].sort()).toEqual(["r1", "r2"]);
    }
    conn!.close();
    for (const c of conns.values()) c.close();
  });

  it("WatchClusters keeps streaming while a worker is stopped (it answers nothing) and while one is killed", async () => {
    const [r1] = await start("r1");
    const g = await startGroupOf([r1!]);
    const admin = adminOf(g);
    const pids = await g.serving(2);
    const abort = new AbortController();
    const it = admin.watchClusters({}, { signal: abort.signal })[Symbol.asyncIterator]();
    /** The next message: how many workers answered for it, and when it was made (ms since the epoch). */
    const next = async (): Promise<{ workers: number; at: number }> => {
      const r = await it.next();
      if (r.done) throw new Error("the watch ended");
      expect(r.value.clusters.map((c) => c.name)).toEqual(["a"]);
      return { workers: r.value.workers, at: Number(r.value.time!.seconds) * 1000 + r.value.time!.nanos / 1e6 };
    };
    /** Messages until one made after `after` has `n` workers, at most `max`. */
    const until = async (n: number, max: number, after = 0): Promise<void> => {
      const seen: number[] = [];
      for (;;) {
        if (seen.length === max) throw new Error(`no message with ${n} workers in ${max}: ${seen.join(", ")}`);
        const m = await next();
        seen.push(m.workers);
        if (m.workers === n && m.at > after) return;
      }
    };
    try {
      expect((await next()).workers).toBe(2);

      // A worker that answers nothing: each tick waits for it a moment, then goes on without it.
      stopped.push(pids[0]!);
      signal(pids[0]!, "SIGSTOP");
      await until(1, 4);
      expect((await next()).workers).toBe(1);
      signal(pids[0]!, "SIGCONT");
      stopped.pop();
      await until(2, 4);

      // A worker killed: the messages go on, and count its replacement once it serves.
      signal(pids[1]!, "SIGKILL");
      await g.serving(1, pids);
      await until(2, 10, Date.now());
      expect((await next()).workers).toBe(2);
    } finally {
      abort.abort();
    }
  });
});
