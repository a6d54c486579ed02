import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { spawnReplica, type ReplicaProcess } from "./replica-process.js";
import { PinnedConnection } from "../workers/pinned-connection.js";
import { childrenOf } from "../workers/socket-owner.js";
import { eventually, startGroup, type WorkerGroup } from "../workers/group.js";

// Issue 15: `kill -9` one of two workers while eight client connections carry
// calls. Calls on the other worker's connections must all succeed; the dead
// worker's clients reconnect (node:cluster hands their new connections to a
// live worker) and succeed; a replacement worker appears.

const CONNECTIONS = 8;
/** Calls before the kill, over all connections. */
const KILL_AFTER = 400;
/** Calls each connection makes after its last failure, all of which must succeed. */
const AFTER_RECONNECT = 20;

interface ConnLoad {
  conn: PinnedConnection;
  /** The worker serving its first connection. */
  owner: number;
  ok: number;
  failed: number;
  errors: string[];
  /** Calls that succeeded since its last failure. */
  okSinceFailure: number;
}

describe("chaos: kill -9 one worker under load", { timeout: 180_000 }, () => {
  let replicas: ReplicaProcess[] = [];
  let group: WorkerGroup | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    group?.cli.kill();
    await group?.cli.exited().catch(() => {});
    group = undefined;
    await Promise.all(replicas.map((r) => r.kill()));
    replicas = [];
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("calls on the surviving worker all succeed, the dead worker's clients reconnect and succeed, a replacement appears", async () => {
    replicas = await Promise.all(["r1", "r2"].map((n) => spawnReplica(n)));
    dir = mkdtempSync(join(tmpdir(), "switchyard-chaos-workers-"));
    const path = join(dir, "gateway.yaml");
    writeFileSync(
      path,
      JSON.stringify({
        listeners: [{ port: 0, host: "127.0.0.1" }],
        admin: { port: 0 },
        workers: 2,
        clusters: {
          echo: {
            protocol: "grpc",
            endpoints: replicas.map((r) => r.address),
            healthCheck: { interval: "300ms", timeout: "200ms" },
          },
        },
        routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
      }),
    );
    const g = (group = await startGroup(["--config", path]));
    const primary = g.cli.child.pid!;
    const pids = (await g.workers()).map((w) => w.pid);
    expect(childrenOf(primary).sort()).toEqual([...pids].sort());

    // Eight connections, each with one call done, so its worker holds it.
    const loads: ConnLoad[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const conn = new PinnedConnection(g.url);
      await conn.echo("warm-up");
      const owner = g.ownerOf(conn, pids);
      expect(owner, `connection ${i} has a worker`).toBeDefined();
      loads.push({ conn, owner: owner!, ok: 0, failed: 0, errors: [], okSinceFailure: 0 });
    }
    const victim = loads[0]!.owner;
    expect(new Set(loads.map((l) => l.owner)).size).toBe(2);

    let calls = 0;
    let killedAt: number | undefined;
    let appearedAfter: number | undefined;
    let servingAfter: number | undefined;
    const kill = async () => {
      process.kill(victim, "SIGKILL");
      killedAt = performance.now();
      // The replacement: a worker pid the group did not have, listed at once, then serving.
      const fresh = await eventually("a replacement worker is listed", 10_000, async () => {
        const w = (await g.workers()).find((x) => !pids.includes(x.pid));
        return w && childrenOf(primary).includes(w.pid) ? w : undefined;
      });
      appearedAfter = performance.now() - killedAt;
      await eventually("the replacement serves", 60_000, async () =>
        (await g.workers()).some((x) => x.pid === fresh.pid && x.state === "serving") ? true : undefined,
      );
      servingAfter = performance.now() - killedAt;
    };
    let killing: Promise<void> | undefined;
    const done = () =>
      servingAfter !== undefined &&
      loads.every((l) => l.okSinceFailure >= AFTER_RECONNECT && l.ok > KILL_AFTER / CONNECTIONS);
    const t0 = performance.now();
    await Promise.all(
      loads.map(async (l, i) => {
        // Bounded: stops once the replacement serves and every connection made its calls since, or after 60 s.
        for (let n = 0; n < 50_000 && !done() && performance.now() - t0 < 60_000; n++) {
          if (++calls === KILL_AFTER) killing = kill();
          try {
            await l.conn.echo(`c${i}-${n}`);
            l.ok++;
            l.okSinceFailure++;
          } catch (err) {
            l.failed++;
            l.okSinceFailure = 0;
            l.errors.push(`${((performance.now() - (killedAt ?? 0)) / 1000).toFixed(2)}s ${(err as Error).message}`);
          }
        }
      }),
    );
    await killing;

    const survivors = loads.filter((l) => l.owner !== victim);
    const orphans = loads.filter((l) => l.owner === victim);
    const sum = (ls: ConnLoad[], k: "ok" | "failed") => ls.reduce((n, l) => n + l[k], 0);
    console.log(
      `[chaos] kill -9 worker (pid ${victim}) after ${KILL_AFTER} calls over ${CONNECTIONS} connections: ` +
        `surviving worker's ${survivors.length} connections ok=${sum(survivors, "ok")} failed=${sum(survivors, "failed")}; ` +
        `dead worker's ${orphans.length} connections ok=${sum(orphans, "ok")} failed=${sum(orphans, "failed")} ` +
        `(reconnected: ${orphans.map((l) => l.conn.connections - 1).join(",")}); ` +
        `replacement listed after ${appearedAfter?.toFixed(0)} ms, serving after ${servingAfter?.toFixed(0)} ms`,
    );

    // Where each of the dead worker's clients is now: a live worker (the primary only accepts).
    const now = (await g.workers()).map((w) => w.pid);
    const newOwners = orphans.map((l) => g.ownerOf(l.conn, [primary, ...now]));
    for (const l of loads) l.conn.close();
    expect(survivors.length).toBeGreaterThan(0);
    expect(orphans.length).toBeGreaterThan(0);
    // Every call on the surviving worker's connections succeeded, on the connection it started on.
    for (const l of survivors) {
      expect(l.errors).toEqual([]);
      expect(l.conn.connections).toBe(1);
    }
    // The dead worker's clients lost their connection, made a new one, and their calls succeed again.
    for (const l of orphans) {
      expect(l.conn.connections).toBeGreaterThan(1);
      expect(l.okSinceFailure, `errors after the kill: ${l.errors.slice(0, 10).join("; ")}`).toBeGreaterThanOrEqual(
        AFTER_RECONNECT,
      );
    }
    for (const owner of newOwners) expect(now).toContain(owner);
    expect(appearedAfter).toBeDefined();
    expect(now).not.toContain(victim);
    expect(now).toHaveLength(2);
  });
});
