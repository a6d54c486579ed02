import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { EchoRequestSchema, EchoResponseSchema } from "../../gen/acme/echo/v1/echo_pb.js";
import { startReplica, type Replica } from "../../services/replica.js";
import { CLIENT_KINDS, echoClient } from "../helpers/clients.js";
import { spawnCli, type CliProcess } from "../helpers/cli-process.js";
import { logLines, type LogLine } from "../helpers/log-lines.js";

// The CLI as a user runs it, its stdout captured: one JSON line per call,
// and endpoint events as structured lines.

let cli: CliProcess | undefined;
let replicas: Replica[] = [];
let dir: string | undefined;
afterEach(async () => {
  cli?.kill();
  cli = undefined;
  await Promise.all(replicas.map((r) => r.close()));
  replicas = [];
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function launch(config: Record<string, unknown>): Promise<string> {
  dir = mkdtempSync(join(tmpdir(), "switchyard-log-"));
  const file = join(dir, "gateway.yaml");
  writeFileSync(file, JSON.stringify(config));
  cli = spawnCli(["--config", file]);
  const [, port] = await cli.waitForStdout(/listening on port (\d+)/, 30_000);
  return `http://127.0.0.1:${port}`;
}

function configFor(rs: Replica[], extra: Record<string, unknown> = {}, cluster: Record<string, unknown> = {}) {
  return {
    listeners: [{ port: 0, host: "127.0.0.1" }],
    clusters: { echo: { protocol: "grpc", endpoints: rs.map((r) => r.address), healthCheck: false, ...cluster } },
    routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "echo" }],
    ...extra,
  };
}

const callLines = (): LogLine[] => logLines(cli!.stdout()).filter((l) => l.event === "call");

describe("access log and events on stdout", { timeout: 60_000 }, () => {
  it("writes exactly one JSON line per call, with what was called, what the client got and what it took", async () => {
    replicas = await Promise.all(["r1", "r2"].map((name) => startReplica({ name })));
    const url = await launch(configFor(replicas, { logging: { access: true } }));
    const grpc = CLIENT_KINDS.find((k) => k.name === "grpc proto h2")!;
    const res = await echoClient(grpc, url).echo({ message: "hello" });
    await expect.poll(() => callLines().length, { timeout: 5000 }).toBe(1);

    const [line] = callLines();
    const answered = replicas.find((r) => r.name === res.replica)!;
    expect(line).toMatchObject({
      level: "info",
      msg: "call",
      protocol: "grpc",
      method: "/acme.echo.v1.EchoService/Echo",
      code: "OK",
      cluster: "echo",
      attempts: 1,
      endpoints: [answered.address],
      messagesIn: 1,
      messagesOut: 1,
      bytesIn: toBinary(EchoRequestSchema, create(EchoRequestSchema, { message: "hello" })).length,
      bytesOut: toBinary(EchoResponseSchema, res).length,
    });
    expect(line.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(line.durationMs).toBeGreaterThan(0);
    expect(Date.parse(line.time)).toBeGreaterThan(Date.now() - 60_000);
    expect("traceId" in line).toBe(false);

    // A failed call over Connect: its own line, with the code the client got.
    const connect = CLIENT_KINDS.find((k) => k.name === "connect json h1")!;
    await echoClient(connect, url)
      .echo({ message: "x" }, { headers: { "x-echo-fail": "not_found" } })
      .catch(() => {});
    await expect.poll(() => callLines().length, { timeout: 5000 }).toBe(2);
    expect(callLines()[1]).toMatchObject({ protocol: "connect", code: "NOT_FOUND", attempts: 1 });
    // Still two after a moment: nothing is logged twice.
    await new Promise((r) => setTimeout(r, 200));
    expect(callLines()).toHaveLength(2);
  });

  it("logs no calls unless logging.access says so, and endpoint health changes as structured warnings", async () => {
    replicas = await Promise.all(["r1", "r2"].map((name) => startReplica({ name })));
    const url = await launch(
      configFor(
        replicas,
        {},
        { healthCheck: { interval: "300ms", timeout: "2s", unhealthyThreshold: 1, healthyThreshold: 1 } },
      ),
    );
    const grpc = CLIENT_KINDS.find((k) => k.name === "grpc proto h2")!;
    await echoClient(grpc, url).echo({ message: "quiet" });
    const [, r2] = replicas;
    r2.health.setServing(false);
    const down = () =>
      logLines(cli!.stdout()).find((l) => l.event === "health" && l.endpoint === r2.address && l.state === "unhealthy");
    await expect.poll(down, { timeout: 10_000 }).toBeDefined();
    expect(down()).toMatchObject({ level: "warn", cluster: "echo" });
    expect(down()!.msg).toContain(`cluster "echo" endpoint ${r2.address} unhealthy`);
    r2.health.setServing(true);
    await expect
      .poll(() => logLines(cli!.stdout()).find((l) => l.event === "health" && l.state === "healthy"), {
        timeout: 10_000,
      })
      .toMatchObject({ level: "info", endpoint: r2.address });
    expect(callLines()).toHaveLength(0);
    // Every line on stdout is JSON (logLines throws otherwise), levels by name.
    expect(logLines(cli!.stdout()).every((l) => typeof l.level === "string" && typeof l.msg === "string")).toBe(true);
  });
});
