import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, type ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { startReplica, type Replica } from "../../services/replica.js";
import { type CliProcess, spawnCli } from "../helpers/cli-process.js";
import { type RedisServer, startRedis } from "../helpers/redis.js";

// Two gateway processes (the CLI, as deployed) share their buckets through a
// real redis-server: together they admit exactly the configured burst. Then
// Redis dies: a rule with onSharedFailure: open admits calls uncounted, one
// with closed refuses them, and each process logs the outage once.

const BURST = 10;
const UNREACHABLE = /rate limits: shared store redis:\/\/127\.0\.0\.1:\d+\/? is unreachable/g;

let redis: RedisServer;
let replica: Replica;
let dir: string;
const gateways: CliProcess[] = [];
const urls: string[] = [];

beforeAll(async () => {
  redis = await startRedis();
  replica = await startReplica({ name: "r1" });
  dir = mkdtempSync(join(tmpdir(), "switchyard-shared-rl-"));
  // Nearly no refill (one token per 1000 s): the counts are the burst alone.
  const rule = (method: string, onSharedFailure: string) =>
    `  - { match: { method: /acme.echo.v1.EchoService/${method} }, key: "header:x-user-id", tokensPerSecond: 0.001, burst: ${BURST}, shared: "${redis.url}", onSharedFailure: ${onSharedFailure} }`;
  writeFileSync(
    join(dir, "gateway.yaml"),
    [
      "listeners: [{ port: 0, host: 127.0.0.1 }]",
      "clusters:",
      `  echo: { protocol: grpc, endpoints: ["${replica.address}"], healthCheck: false }`,
      "routes:",
      "  - { match: { service: acme.echo.v1.EchoService }, cluster: echo }",
      "rateLimits:",
      rule("Echo", "open"),
      rule("Write", "closed"),
      "",
    ].join("\n"),
  );
  for (let i = 0; i < 2; i++) {
    const g = spawnCli(["--config", join(dir, "gateway.yaml")]);
    gateways.push(g);
  }
  for (const g of gateways) {
    const m = await g.waitForStdout(/listening on port (\d+)/);
    urls.push(`http://127.0.0.1:${m[1]}`);
  }
}, 30_000);

afterAll(async () => {
  for (const g of gateways) g.kill();
  await replica?.close();
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const clients = () => urls.map((baseUrl) => createClient(EchoService, createGrpcTransport({ baseUrl })));

/** `n` calls at once, spread over both gateways: how many passed, and the codes of the rest. */
async function spread(n: number, call: (c: ReturnType<typeof clients>[number], i: number) => Promise<unknown>) {
  const cs = clients();
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => call(cs[i % cs.length], i)));
  const codes = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as ConnectError).code] : []));
  return { passed: n - codes.length, codes };
}

const echo = (user: string) => (c: ReturnType<typeof clients>[number]) =>
  c.echo({ message: "x" }, { headers: { "x-user-id": user } });
const write = (user: string) => (c: ReturnType<typeof clients>[number]) =>
  c.write({ key: "k" }, { headers: { "x-user-id": user } });

describe("rate limits shared through Redis by two gateway processes", () => {
  it("admit exactly the burst between them, per key", async () => {
    const a = await spread(3 * BURST, echo("alice"));
    expect(a.passed).toBe(BURST);
    expect(new Set(a.codes)).toEqual(new Set([Code.ResourceExhausted]));
    // Another key has its own bucket, in both processes.
    expect((await spread(2 * BURST, echo("bob"))).passed).toBe(BURST);
    expect((await spread(BURST, write("carol"))).passed).toBe(BURST);
  });

  it("when Redis dies: open admits uncounted, closed refuses with UNAVAILABLE, and each process logs it once", async () => {
    await redis.kill();
    const open = await spread(3 * BURST, echo("dave"));
    expect(open.passed).toBe(3 * BURST);
    const closed = await spread(2 * BURST, write("erin"));
    expect(closed.passed).toBe(0);
    expect(new Set(closed.codes)).toEqual(new Set([Code.Unavailable]));
    // More calls, and time for reconnect attempts to fail: still one line each.
    await new Promise((r) => setTimeout(r, 1500));
    await spread(2 * BURST, echo("frank"));
    for (const g of gateways) {
      const lines = g.stdout().match(UNREACHABLE) ?? [];
      expect([lines.length, g.stdout()]).toEqual([1, g.stdout()]);
      expect(g.stdout()).toMatch(/open rules are admitted uncounted, under closed ones refused/);
    }
  });
});
