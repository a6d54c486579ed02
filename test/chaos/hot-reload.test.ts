import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createClient } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { demoDescriptors } from "../../gateway/demo.js";
import { loadConfigFile } from "../../gateway/config/load.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { formatReload, type ReloadResult } from "../../gateway/snapshot/reload.js";
import { generateTestPki, issueServerCert, type KeyPair, type TestPki } from "../helpers/tls-certs.js";
import { spawnReplica, type ReplicaProcess } from "./replica-process.js";
import { describeLoad, runLoad } from "./load.js";

// Issue 12 under load: the config file changes four times while calls run
// over TLS (route moved to another cluster, weights changed, an endpoint
// removed, the listener's certificate rotated), then an invalid config is
// refused. No call may fail, and each change must show in where calls land.
describe("chaos: hot reload under load", { timeout: 120_000 }, () => {
  let replicas: ReplicaProcess[] = [];
  let gateway: Gateway | undefined;
  let pki: TestPki | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await gateway?.close();
    await Promise.all(replicas.map((r) => r.kill()));
    pki?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("route moved, weights changed, endpoint removed, certificate rotated: zero failed calls; an invalid config is refused", async () => {
    pki = generateTestPki();
    const d = (dir = mkdtempSync(join(tmpdir(), "switchyard-chaos-reload-")));
    replicas = await Promise.all(["r1", "r2", "r3", "r4"].map((n) => spawnReplica(n)));
    const [r1, r2, r3, r4] = replicas;
    const write = (name: string, text: string) => {
      writeFileSync(join(d, `${name}.tmp`), text);
      renameSync(join(d, `${name}.tmp`), join(d, name));
    };
    const writePair = (pair: KeyPair) => {
      write("server.pem", pair.cert);
      write("server.key", pair.key);
    };
    const cluster = (eps: Array<[ReplicaProcess, number]>) => ({
      protocol: "grpc",
      healthCheck: { interval: "300ms", timeout: "200ms" },
      endpoints: eps.map(([r, weight]) => ({ address: r.address, weight })),
    });
    const writeConfig = (route: string, b: Array<[ReplicaProcess, number]>, extra: Record<string, unknown> = {}) =>
      write(
        "gateway.yaml",
        JSON.stringify({
          listeners: [{ port: 0, host: "127.0.0.1", tls: { cert: "server.pem", key: "server.key" } }],
          admin: { port: 0, host: "127.0.0.1" },
          clusters: {
            a: cluster([
              [r1, 1],
              [r2, 1],
            ]),
            b: cluster(b),
          },
          routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: route }],
          ...extra,
        }),
      );

    writePair(pki.server);
    writeConfig("a", [
      [r3, 1],
      [r4, 1],
    ]);
    const path = join(d, "gateway.yaml");
    const log: string[] = [];
    gateway = await startGateway(await loadConfigFile(path), {
      descriptors: demoDescriptors,
      loadConfig: () => loadConfigFile(path),
      onReload: (r, t) => log.push(formatReload(r, t)),
    });
    const port = gateway.ports[0];
    const baseUrl = `https://127.0.0.1:${port}`;
    const nodeOptions = { ca: pki.ca, servername: "localhost" };
    // One long-lived TLS connection for most calls; every 50th call opens a fresh one (a new handshake).
    const client = createClient(EchoService, createGrpcTransport({ baseUrl, nodeOptions }));
    const freshCall = async (i: number) => {
      const manager = new Http2SessionManager(baseUrl, {}, nodeOptions);
      try {
        return await createClient(EchoService, createGrpcTransport({ baseUrl, sessionManager: manager })).echo(
          { message: `fresh${i}` },
          { timeoutMs: 5000 },
        );
      } finally {
        manager.abort();
      }
    };
    const presented = () =>
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: "127.0.0.1", port, ...nodeOptions }, () => {
          resolve(s.getPeerX509Certificate()!.fingerprint256);
          s.end();
        });
        s.on("error", reject);
      });

    const reloadAt = async (what: string): Promise<{ result: ReloadResult; ms: number; calls: number[] }> => {
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${gateway!.adminPort}/reload`, { method: "POST" });
      const result = (await res.json()) as ReloadResult;
      const ms = performance.now() - t0;
      const calls = (await Promise.all(replicas.map((r) => r.stats()))).map((s) => s.calls.Echo ?? 0);
      console.log(
        `[chaos] reload "${what}": HTTP ${res.status} ${result.status} in ${ms.toFixed(1)} ms; changed ${JSON.stringify(result.changed)}`,
      );
      return { result, ms, calls };
    };

    const marks: Record<string, Awaited<ReturnType<typeof reloadAt>>> = {};
    let rotatedCert: string | undefined;
    let streamsChecked = 0;
    const total = 4200;
    const result = await runLoad({
      total,
      concurrency: 16,
      onCall: async (i) => {
        if (i === 700) {
          writeConfig("b", [
            [r3, 1],
            [r4, 1],
          ]);
          marks.route = await reloadAt("route a -> b");
        } else if (i === 1400) {
          writeConfig("b", [
            [r3, 1],
            [r4, 4],
          ]);
          marks.weights = await reloadAt("weights r3:r4 1:1 -> 1:4");
        } else if (i === 2100) {
          writeConfig("b", [[r4, 4]]);
          marks.removed = await reloadAt("r3 removed");
        } else if (i === 2800) {
          const next = issueServerCert(pki!, "rotated");
          rotatedCert = next.cert;
          writePair(next);
          marks.rotated = await reloadAt("certificate rotated");
        } else if (i === 3500) {
          write(
            "gateway.yaml",
            JSON.stringify({
              listeners: [{ port: "eighty" }],
              clusters: {},
              routes: [{ match: { prefix: "/" }, cluster: "gone" }],
            }),
          );
          marks.invalid = await reloadAt("invalid config");
        }
      },
      call: async (i) => {
        if (i % 50 === 0) return freshCall(i);
        if (i % 40 === 0) {
          // A short stream that may cross a reload: it ends whole, on one replica.
          const from: string[] = [];
          for await (const m of client.count({ count: 5, intervalMs: 10 }, { timeoutMs: 5000 })) from.push(m.replica);
          expect(from).toHaveLength(5);
          expect(new Set(from).size).toBe(1);
          streamsChecked++;
          return;
        }
        return client.echo({ message: `m${i}` }, { timeoutMs: 5000 });
      },
    });
    const end = (await Promise.all(replicas.map((r) => r.stats()))).map((s) => s.calls.Echo ?? 0);
    const delta = (from: number[], to: number[]) => to.map((n, i) => n - from[i]);
    const afterWeights = delta(marks.weights.calls, marks.removed.calls);
    const afterRemoval = delta(marks.removed.calls, end);
    console.log(describeLoad("hot reload under load (5 reloads, TLS)", result), `${streamsChecked} streams checked`);
    console.log(
      `[chaos] Echo per replica [r1, r2, r3, r4]: before the move ${JSON.stringify(marks.route.calls)}; after the move ${JSON.stringify(delta(marks.route.calls, marks.weights.calls))}; weights 1:4 ${JSON.stringify(afterWeights)}; r3 removed ${JSON.stringify(afterRemoval)}`,
    );
    for (const r of replicas) if (r.stderr()) console.error(`replica ${r.name} stderr:`, r.stderr());

    expect(result.failed, JSON.stringify([...result.errors])).toBe(0);
    expect(result.ok).toBe(total);
    for (const k of ["route", "weights", "removed", "rotated"]) expect(marks[k].result.status, k).toBe("reloaded");
    expect(marks.rotated.result.changed).toEqual([`listeners[0] 127.0.0.1:0 tls (certificates)`]);
    expect(marks.invalid.result.status).toBe("rejected");
    expect(marks.invalid.result.problems.length).toBeGreaterThanOrEqual(2);
    expect(log.at(-1)).toMatch(/rejected, the old config keeps serving/);
    // Calls followed each change (a few in flight at a reload may still land on the old set).
    expect(afterWeights[0] + afterWeights[1]).toBe(0);
    expect(afterWeights[3]).toBeGreaterThan(afterWeights[2] * 2);
    expect(afterRemoval[2]).toBeLessThanOrEqual(16);
    expect(afterRemoval[3]).toBeGreaterThan(1000);
    // The rotated certificate is what new handshakes get, also after the invalid config.
    expect(await presented()).toBe(new X509Certificate(rotatedCert!).fingerprint256);
    expect(gateway.reloads).toEqual({ reloaded: 4, unchanged: 0, rejected: 1 });
  });
});
