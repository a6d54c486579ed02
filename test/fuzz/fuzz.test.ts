import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReplica, type Replica } from "../../services/replica.js";
import { spawnCli, type CliProcess } from "../helpers/cli-process.js";
import { fuzzCase, type FuzzCase } from "./cases.js";
import { FuzzClient } from "./client.js";
import { judge } from "./oracle.js";

// Issue 14, "Fuzzing": mutated gRPC, gRPC-Web (binary and text) and Connect
// (unary, streaming, GET) requests over HTTP/1.1 and HTTP/2 at a real
// gateway process (bin/switchyard.js, built dist/) in front of real replicas
// behind three clusters that speak gRPC, gRPC-Web and Connect over HTTP/1.1.
// Every case must get a protocol-correct answer (test/fuzz/oracle.ts), the
// process must never die, and its memory must come back near where it started.
//
// `npm test` runs a bounded, seeded version; `npm run fuzz` a long one
// (FUZZ_RUNS, FUZZ_SEED to replay a failure).

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
/** Fixed for the bounded run; a new one each long run unless FUZZ_SEED replays one (the log line names it). */
const SEED = Number(process.env.FUZZ_SEED ?? (process.env.FUZZ_RUNS ? Date.now() % 2 ** 31 : 20_140_614));
/** RSS may grow this much over the run and stay grown (caches, V8 heap headroom): more is a leak. */
const RSS_SLACK_BYTES = 96 * 1024 * 1024;

let replicas: Replica[] = [];
let gateway: CliProcess | undefined;
let dir: string;
let url: string;

beforeAll(async () => {
  replicas = await Promise.all(["f1", "f2", "f3"].map((name) => startReplica({ name })));
  dir = mkdtempSync(join(tmpdir(), "switchyard-fuzz-"));
  const cluster = (protocol: string, i: number, extra: object = {}) => ({
    protocol,
    endpoints: [replicas[i]!.address],
    timeout: "1s",
    healthCheck: false,
    outlierDetection: false,
    ...extra,
  });
  const config = {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    limits: { maxMessageBytes: 65_536, maxJsonDepth: 32, streamIdleTimeout: "3s", requestHeadersTimeout: "5s" },
    clusters: {
      grpc: cluster("grpc", 0),
      web: cluster("grpc-web", 1, { codec: "json" }),
      connect: cluster("connect", 2, { http: "1.1", compression: "gzip" }),
    },
    routes: [
      { match: { method: "/acme.echo.v1.EchoService/Sum" }, cluster: "web" },
      { match: { method: "/acme.echo.v1.EchoService/Write" }, cluster: "connect" },
      { match: { service: "acme.echo.v1.EchoService" }, cluster: "grpc" },
    ],
  };
  const file = join(dir, "fuzz.yaml");
  writeFileSync(file, JSON.stringify(config));
  gateway = spawnCli(["--config", file]);
  const m = await gateway.waitForStdout(/listening on port (\d+)/);
  url = `http://127.0.0.1:${m[1]}`;
}, 30_000);

afterAll(async () => {
  gateway?.kill();
  await Promise.all(replicas.map((r) => r.close()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The gateway process's resident set, from /proc. */
function rss(): number {
  const status = readFileSync(`/proc/${gateway!.child.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

function alive(): boolean {
  return gateway!.child.exitCode === null && gateway!.child.signalCode === null;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("fuzzing every inbound path", { timeout: Math.max(120_000, RUNS * 200) }, () => {
  it(`${RUNS} mutated requests: each gets a protocol-correct answer, the gateway stays up, memory comes back`, async () => {
    const client = new FuzzClient(url);
    // Warm up first (connection pools, JIT, the schema and descriptors), then measure.
    const warm = fc.sample(fuzzCase, { numRuns: 100, seed: SEED + 1 });
    for (const c of warm) await client.send(c);
    await settle(1000);
    const before = rss();
    let sent = 0;
    const seen = new Map<string, number>();
    try {
      await fc.assert(
        fc.asyncProperty(fuzzCase, async (c: FuzzCase) => {
          const a = await client.send(c);
          if (a.status === -1) return true; // the client itself refused to send it
          sent++;
          const kind = `${c.form} h${c.http} ${a.status}`;
          seen.set(kind, (seen.get(kind) ?? 0) + 1);
          const problem = judge(c, a);
          if (problem) throw new Error(`${problem}\n  case: ${describeCase(c)}`);
          if (!alive()) throw new Error(`the gateway process died\n${gateway!.stderr()}`);
          return true;
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
    } finally {
      client.close();
    }
    expect(alive()).toBe(true);
    // Idle connections and per-call state are gone once the streams and keep-alives have ended.
    await settle(2000);
    const after = rss();
    console.log(
      `fuzz: ${sent} cases (seed ${SEED}); gateway RSS ${mb(before)} -> ${mb(after)} MB; answers: ${[...seen]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 12)
        .map(([k, n]) => `${k} x${n}`)
        .join(", ")}`,
    );
    expect(after - before).toBeLessThan(RSS_SLACK_BYTES);
    // And it still does its job.
    const ok = await new FuzzClient(url).send({
      http: "1.1",
      form: "connect-unary",
      method: "POST",
      path: "/acme.echo.v1.EchoService/Echo",
      headers: { "content-type": "application/json" },
      body: Buffer.from('{"message":"still here"}'),
    });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body.toString()).message).toBe("still here");
  });
});

const mb = (n: number) => Math.round(n / 1024 / 1024);

function describeCase(c: FuzzCase): string {
  const body =
    c.body.length > 64
      ? `${c.body.subarray(0, 64).toString("hex")}... (${c.body.length} bytes)`
      : c.body.toString("hex");
  return `HTTP/${c.http} ${c.method} ${c.path} ${JSON.stringify(c.headers)} body ${body}`;
}
