import net from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { CLIENT_KINDS, callError, echoClient } from "../helpers/clients.js";
import { spawnCli, type CliProcess } from "../helpers/cli-process.js";
import { collect, echoGrpcJsClient, grpc, metadata } from "../helpers/grpc-js.js";
import { startReplica, type Replica } from "../../services/replica.js";

const grpcH2 = CLIENT_KINDS.find((k) => k.name === "grpc proto h2")!;
const connectH1 = CLIENT_KINDS.find((k) => k.name === "connect json h1")!;
const webH1 = CLIENT_KINDS.find((k) => k.name === "grpc-web proto h1")!;

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

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
    }),
  ]);
}

describe("graceful stop (gateway.close())", () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it.each([grpcH2, connectH1, webH1])(
    "an in-flight stream finishes with every message; close() resolves after it ($name)",
    async (kind) => {
      f = await startFixture({ drainTimeoutMs: 10_000 });
      const fx = f;
      const events: string[] = [];
      const ns: number[] = [];
      let closing: Promise<void> | undefined;
      let refusedDuringDrain: string | undefined;
      const t0 = performance.now();
      let closeTook = 0;

      let streamError: unknown;
      try {
        for await (const m of echoClient(kind, fx.url).count({ count: 10, intervalMs: 100 })) {
          ns.push(m.n);
          events.push(`message ${m.n}`);
          if (m.n === 2) {
            closing = fx.gateway.close().then(() => {
              closeTook = performance.now() - t0;
              events.push("close resolved");
            });
            // Draining: the port no longer takes connections, the stream goes on.
            refusedDuringDrain = await tcpConnect(fx.port);
          }
        }
      } catch (err) {
        streamError = err;
      }
      events.push("stream ended");
      expect(closing).toBeDefined();
      await within(closing!, 5000, "close()");

      expect(ns).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      // Every message arrived; the stream must also end with OK, not a reset.
      expect(streamError === undefined ? "OK" : String(streamError)).toBe("OK");
      expect(refusedDuringDrain).toBe("ECONNREFUSED");
      expect(events.indexOf("close resolved")).toBeGreaterThan(events.indexOf("message 10"));
      // The stream needed ~900 ms; close() was called after ~100 ms and waited for it.
      expect(closeTook).toBeGreaterThan(700);
      expect(fx.replicas[0].stats.cancelled).toBe(0);
      expect(fx.gateway.inflight.size).toBe(0);

      // Stopped for good: new connections and new calls are refused.
      expect(await tcpConnect(fx.port)).toBe("ECONNREFUSED");
      const err = await callError(echoClient(kind, fx.url).echo({ message: "late" }, { timeoutMs: 3000 }));
      expect(err.message).toMatch(/ECONNREFUSED|unavailable/i);
    },
  );

  it("grpc-js: an in-flight Count stream ends with every message and status OK", async () => {
    f = await startFixture({ drainTimeoutMs: 10_000 });
    const fx = f;
    const client = echoGrpcJsClient(`127.0.0.1:${fx.port}`);
    try {
      let closing: Promise<void> | undefined;
      const call = client.Count({ count: 10, intervalMs: 100 }, metadata(), {});
      call.on("data", (m: { n: number }) => {
        if (m.n === 2) closing = fx.gateway.close();
      });
      const { messages, status } = await within(collect(call), 5000, "the stream");
      await within(closing!, 5000, "close()");
      expect(messages.map((m) => m.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(status.code, `status ${status.code}: ${status.details}`).toBe(grpc.status.OK);
    } finally {
      client.close();
    }
  });

  it.each([grpcH2, connectH1])(
    "with drainTimeoutMs 300 and a hanging replica, close() resolves promptly and the call errors ($name)",
    async (kind) => {
      f = await startFixture({ drainTimeoutMs: 300 });
      const fx = f;
      fx.replicas[0].faults.hang = true;
      // No client deadline and no cluster timeout: only the drain can end this call.
      const call = callError(echoClient(kind, fx.url).echo({ message: "stuck" }));
      await expect.poll(() => fx.replicas[0].stats.calls.Echo, { timeout: 3000 }).toBe(1);
      expect(fx.gateway.inflight.size).toBe(1);

      const t0 = performance.now();
      await within(fx.gateway.close(), 5000, "close()");
      const took = performance.now() - t0;
      expect(took).toBeGreaterThan(250); // it did wait for the drain timeout
      expect(took).toBeLessThan(2000);

      const err = await within(call, 2000, "the in-flight call after close()");
      expect(err).toBeDefined();
      expect(await tcpConnect(fx.port)).toBe("ECONNREFUSED");
    },
  );
});

describe("the switchyard CLI process", () => {
  let replica: Replica;
  let dir: string;
  let proc: CliProcess | undefined;
  beforeAll(async () => {
    replica = await startReplica({ name: "cli-r1" });
    dir = mkdtempSync(join(tmpdir(), "switchyard-cli-"));
  });
  afterEach(() => {
    proc?.kill();
    proc = undefined;
  });
  afterAll(async () => {
    await replica?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function connectJsonEcho(port: number, message: string): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`http://127.0.0.1:${port}/acme.echo.v1.EchoService/Echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message }),
    });
    return { status: res.status, body: await res.json() };
  }

  it("--config: listens, proxies a Connect JSON call to the configured replica, exits 0 on SIGTERM", async () => {
    const file = join(dir, "gateway.yaml");
    writeFileSync(
      file,
      [
        "listeners:",
        "  - port: 0",
        "    host: 127.0.0.1",
        "drainTimeout: 2s",
        "clusters:",
        "  echo:",
        "    protocol: grpc",
        "    endpoints:",
        `      - "${replica.address}"`,
        "routes:",
        "  - match: { service: acme.echo.v1.EchoService }",
        "    cluster: echo",
        "",
      ].join("\n"),
    );
    proc = spawnCli(["--config", file]);
    const m = await proc.waitForStdout(/listening on port (\d+)/);
    const port = Number(m[1]);
    expect(port).toBeGreaterThan(0);
    await proc.waitForStdout(new RegExp(`cluster echo \\(grpc\\): ${replica.address.replace(/\./g, "\\.")} w1`));

    const before = replica.stats.calls.Echo;
    const res = await connectJsonEcho(port, "via cli");
    expect(res).toEqual({ status: 200, body: { message: "via cli", replica: "cli-r1" } });
    expect(replica.stats.calls.Echo).toBe(before + 1);

    proc.child.kill("SIGTERM");
    const exit = await proc.exited(8000);
    expect(exit, proc.stderr()).toEqual({ code: 0, signal: null });
    expect(proc.stdout()).toMatch(/SIGTERM: draining/);
    expect(await tcpConnect(port)).toBe("ECONNREFUSED");
  });

  it("--config with a broken file exits non-zero naming each problem by path and value, and never listens", async () => {
    const file = join(dir, "broken.yaml");
    writeFileSync(
      file,
      [
        "listeners:",
        "  - port: 0",
        "    host: 127.0.0.1",
        "clusters:",
        "  echo:",
        "    protocol: http",
        "    endpoints:",
        '      - "nohost"',
        "routes:",
        "  - match: { service: acme.echo.v1.EchoService }",
        "    cluster: echo",
        "",
      ].join("\n"),
    );
    proc = spawnCli(["--config", file]);
    const exit = await proc.exited(10_000);
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    const stderr = proc.stderr();
    expect(stderr).toContain(file);
    const protocolLine = stderr.split("\n").find((l) => l.includes("clusters.echo.protocol"));
    expect(protocolLine, stderr).toBeDefined();
    expect(protocolLine).toContain('"http"');
    const endpointLine = stderr.split("\n").find((l) => l.includes("clusters.echo.endpoints[0]"));
    expect(endpointLine, stderr).toBeDefined();
    expect(endpointLine).toContain('"nohost"');
    expect(proc.stdout()).not.toMatch(/listening/);
  });

  it("--demo --port 0 (what npm start runs): listening line, curl hint, dashboard, answers Connect JSON, exits 0 on SIGTERM", async () => {
    // --admin-port 0: the demo's own 9901 may be taken by an `npm start` on this machine.
    proc = spawnCli(["--demo", "--port", "0", "--admin-port", "0"]);
    const m = await proc.waitForStdout(/listening on port (\d+)/);
    const port = Number(m[1]);
    expect(port).toBeGreaterThan(0);
    await proc.waitForStdout(/curl .*localhost:\d+\/acme\.echo\.v1\.EchoService\/Echo/);
    expect(proc.stdout()).toContain(`curl -s localhost:${port}/acme.echo.v1.EchoService/Echo`);
    const dash = await proc.waitForStdout(/Dashboard: http:\/\/localhost:(\d+)\//);
    const adminPort = Number(dash[1]);
    expect(proc.stdout()).toContain(`localhost:${adminPort}/switchyard.admin.v1.AdminService/ListClusters`);
    const page = await fetch(`http://127.0.0.1:${adminPort}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("/dashboard.js");

    const res = await connectJsonEcho(port, "demo");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ message: "demo" });
    expect(["r1", "r2", "r3"]).toContain((res.body as { replica: string }).replica);

    proc.child.kill("SIGTERM");
    const exit = await proc.exited(8000);
    expect(exit, proc.stderr()).toEqual({ code: 0, signal: null });
    expect(await tcpConnect(port)).toBe("ECONNREFUSED");
  });
});
