import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnCli, type CliProcess } from "../helpers/cli-process.js";
import { PinnedConnection } from "./pinned-connection.js";
import { socketOwner } from "./socket-owner.js";

/** A worker as the primary's GET /workers reports it. */
export interface ReportedWorker {
  worker: number;
  pid: number;
  state: "starting" | "serving" | "draining";
  inflight?: number;
  clusters?: Array<{
    name: string;
    endpoints: Array<{ address: string; unavailable?: string; inflight: number; callsPerSecond: number }>;
  }>;
}

/** `switchyard --config … --workers N` as a real process group, and ways to look into it. */
export interface WorkerGroup {
  cli: CliProcess;
  port: number;
  adminPort: number;
  url: string;
  workers(): Promise<ReportedWorker[]>;
  /** The pid of the worker serving `conn`'s current connection (ask after a call on it has answered). */
  ownerOf(conn: PinnedConnection, pids: readonly number[]): number | undefined;
  /**
   * `n` calls, each on a fresh connection, so node:cluster's round-robin spreads
   * them: which replica answered each, and which worker pid served it.
   */
  freshCalls(n: number, port?: number): Promise<Array<{ replica: string; pid: number | undefined }>>;
  /**
   * One connection served by each of these worker pids: fresh connections
   * (each after a call, so its worker holds it) until every pid has one, at
   * most `tries`; the others are closed.
   */
  connectionPerWorker(pids: readonly number[], tries?: number): Promise<Map<number, PinnedConnection>>;
  /** The serving workers' pids once there are `n` of them, none of them in `old` (within 30 s). */
  serving(n: number, old?: readonly number[]): Promise<number[]>;
}

/**
 * `workers: 2` with cluster "a" of `addresses` (health-checked by the
 * primary at the defaults) for every Echo, `cluster` merged into it and
 * `top` into the config, written to `dir`/gateway.yaml as config managers do.
 */
export function startEchoGroup(
  dir: string,
  addresses: string[],
  cluster: Record<string, unknown> = {},
  top: Record<string, unknown> = {},
): Promise<WorkerGroup> {
  const path = join(dir, "gateway.yaml");
  const config = {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    admin: { port: 0 },
    workers: 2,
    clusters: { a: { protocol: "grpc", slowStart: "0s", endpoints: addresses, ...cluster } },
    routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "a" }],
    ...top,
  };
  writeFileSync(`${path}.tmp`, JSON.stringify(config));
  renameSync(`${path}.tmp`, path);
  return startGroup(["--config", path]);
}

export async function startGroup(args: string[]): Promise<WorkerGroup> {
  const cli = spawnCli(args);
  // Generous: workers start in parallel on a machine that may be busy.
  const [, port] = await cli.waitForStdout(/listening on port (\d+)/, 60_000);
  const [, adminPort] = await cli.waitForStdout(/admin on port (\d+)/, 5_000);
  const url = `http://127.0.0.1:${port}`;
  const workers = async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/workers`);
    return ((await res.json()) as { workers: ReportedWorker[] }).workers;
  };
  const ownerOf = (conn: PinnedConnection, pids: readonly number[]) =>
    conn.localPort === undefined ? undefined : socketOwner(conn.remotePort!, conn.localPort, pids);
  return {
    cli,
    port: Number(port),
    adminPort: Number(adminPort),
    url,
    workers,
    ownerOf,
    async freshCalls(n, to = Number(port)) {
      const pids = (await workers()).map((w) => w.pid);
      const out: Array<{ replica: string; pid: number | undefined }> = [];
      for (let i = 0; i < n; i++) {
        const conn = new PinnedConnection(`http://127.0.0.1:${to}`);
        try {
          // After the call: by then the worker that answered holds the socket.
          const replica = await conn.echo(`call ${i}`);
          out.push({ replica, pid: ownerOf(conn, pids) });
        } finally {
          conn.close();
        }
      }
      return out;
    },
    async connectionPerWorker(pids, tries = 12) {
      const byWorker = new Map<number, PinnedConnection>();
      for (let i = 0; i < tries && byWorker.size < pids.length; i++) {
        const conn = new PinnedConnection(url);
        await conn.echo("hello");
        const pid = ownerOf(conn, pids);
        if (pid !== undefined && pids.includes(pid) && !byWorker.has(pid)) byWorker.set(pid, conn);
        else conn.close();
      }
      return byWorker;
    },
    serving: (n, old = []) =>
      eventually(`${n} workers serving`, 30_000, async () => {
        const ws = (await workers()).filter((w) => w.state === "serving" && !old.includes(w.pid));
        return ws.length === n ? ws.map((w) => w.pid) : undefined;
      }),
  };
}

/** Polls `f` every 50 ms until it returns something other than undefined, at most `timeoutMs`. */
export async function eventually<T>(what: string, timeoutMs: number, f: () => Promise<T | undefined>): Promise<T> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (performance.now() > until) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
