import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startReplica, type Replica } from "../../services/replica.js";
import { parsePrometheusText, samplesOf, valueOf } from "../helpers/prometheus-text.js";
import { checkMetrics } from "../helpers/promtool.js";
import { CallFailed, PinnedConnection } from "./pinned-connection.js";
import { startEchoGroup, type WorkerGroup } from "./group.js";

// Issue 15: "/metrics aggregates all workers". The CLI with `workers: 2` as a
// real process group, calls spread over both workers, and the primary's
// GET /metrics as Prometheus scrapes it, checked by promtool.

let replicas: Replica[] = [];
let group: WorkerGroup | undefined;
let dir: string | undefined;
afterEach(async () => {
  group?.cli.kill();
  await group?.cli.exited().catch(() => {});
  group = undefined;
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function start(...names: string[]): Promise<WorkerGroup> {
  dir = mkdtempSync(join(tmpdir(), "switchyard-group-metrics-"));
  replicas = await Promise.all(names.map((name) => startReplica({ name })));
  group = await startEchoGroup(
    dir,
    replicas.map((r) => r.address),
  );
  return group;
}

async function scrapeText(g: WorkerGroup): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${g.adminPort}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

const scrape = async (g: WorkerGroup) => parsePrometheusText(await scrapeText(g));

const ECHO_OK = { grpc_method: "Echo", grpc_code: "OK", protocol: "grpc" };

/** `n` calls on fresh connections, spread over both workers (it checks they were). */
async function callsOnBothWorkers(g: WorkerGroup, n: number, pids: readonly number[]): Promise<void> {
  const calls = await g.freshCalls(n);
  expect(calls).toHaveLength(n);
  expect([...new Set(calls.map((c) => c.pid))].sort()).toEqual([...pids].sort());
}

describe("GET /metrics with workers: 2", { timeout: 120_000 }, () => {
  it("adds up every worker's registry: N calls over both workers are N handled; promtool accepts it", async () => {
    const g = await start("r1");
    const pids = await g.serving(2);
    const before = await scrape(g);
    const N = 16;
    await callsOnBothWorkers(g, N, pids);
    // A failure and a stream, so more families have series.
    const conn = new PinnedConnection(g.url);
    await expect(conn.echo("x", 5000, { "x-echo-fail": "not_found" })).rejects.toThrow(CallFailed);
    expect(await conn.count(3, 0, () => {})).toEqual([1, 2, 3]);
    conn.close();
    // A reload for the group: the primary counts it once (each worker reloads too, and its count is left out).
    const reload = await fetch(`http://127.0.0.1:${g.adminPort}/reload`, { method: "POST" });
    expect(((await reload.json()) as { status: string }).status).toBe("unchanged");

    const text = await scrapeText(g);
    const after = parsePrometheusText(text);
    const delta = (name: string, where: Record<string, string> = {}) =>
      valueOf(after, name, where) - valueOf(before, name, where);
    expect(delta("grpc_server_handled_total", ECHO_OK)).toBe(N);
    expect(delta("grpc_server_started_total", { grpc_method: "Echo" })).toBe(N + 1);
    expect(delta("grpc_server_handled_total", { grpc_code: "NOT_FOUND" })).toBe(1);
    expect(delta("grpc_server_handled_total", { grpc_method: "Count", grpc_code: "OK" })).toBe(1);
    expect(delta("grpc_server_handling_seconds_count", { grpc_method: "Echo" })).toBe(N + 1);
    expect(delta("switchyard_upstream_attempts_total", { cluster: "a", endpoint: replicas[0]!.address })).toBe(N + 2);
    expect(valueOf(after, "switchyard_config_reloads_total", { result: "unchanged" })).toBe(1);
    // The group's one state per endpoint (the primary's view), not one per worker added up.
    const states = samplesOf(after, "switchyard_endpoint_state", { endpoint: replicas[0]!.address });
    expect(states.filter((s) => s.value === 1).map((s) => s.labels.state)).toEqual(["healthy"]);
    expect(valueOf(after, "switchyard_endpoint_up", { endpoint: replicas[0]!.address })).toBe(1);
    // Process metrics for the group (primary and workers added up), once.
    expect(samplesOf(after, "process_cpu_seconds_total")).toHaveLength(1);
    expect(valueOf(after, "process_cpu_seconds_total")).toBeGreaterThan(0);

    expect(checkMetrics(text)).toEqual({ status: 0, output: "" });
  });

  it("a worker killed with kill -9: the group's counters do not go down, and the replacement's calls add to them", async () => {
    const g = await start("r1");
    const pids = await g.serving(2);
    const N = 12;
    await callsOnBothWorkers(g, N, pids);
    expect(valueOf(await scrape(g), "grpc_server_handled_total", ECHO_OK)).toBe(N);

    process.kill(pids[0]!, "SIGKILL");
    const [fresh] = await g.serving(1, pids);
    const now = await g.serving(2);
    expect(now).toContain(fresh);
    // The dead worker's counts as of the last scrape, which had every call.
    expect(valueOf(await scrape(g), "grpc_server_handled_total", ECHO_OK)).toBe(N);

    const M = 8;
    await callsOnBothWorkers(g, M, now);
    expect(valueOf(await scrape(g), "grpc_server_handled_total", ECHO_OK)).toBe(N + M);
  });

  it("endpoint up and state are the group's: a drained endpoint is draining, once", async () => {
    const g = await start("r1", "r2");
    await g.serving(2);
    const res = await fetch(`http://127.0.0.1:${g.adminPort}/switchyard.admin.v1.AdminService/DrainEndpoint`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ cluster: "a", address: replicas[0]!.address }),
    });
    expect(res.status).toBe(200);
    const s = await scrape(g);
    const stateOf = (address: string) =>
      samplesOf(s, "switchyard_endpoint_state", { endpoint: address })
        .filter((x) => x.value === 1)
        .map((x) => x.labels.state);
    expect(stateOf(replicas[0]!.address)).toEqual(["draining"]);
    expect(stateOf(replicas[1]!.address)).toEqual(["healthy"]);
    expect(valueOf(s, "switchyard_endpoint_up", { endpoint: replicas[0]!.address })).toBe(0);
    expect(valueOf(s, "switchyard_endpoint_up", { endpoint: replicas[1]!.address })).toBe(1);
    // In flight: every worker's added up (none now).
    expect(samplesOf(s, "switchyard_endpoint_inflight").map((x) => x.value)).toEqual([0, 0]);
  });
});
