import { afterEach, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { startFixture, type Fixture } from "../helpers/gateway-fixture.js";
import { CLIENT_KINDS, callError, echoClient } from "../helpers/clients.js";

const grpc = CLIENT_KINDS.find((k) => k.name === "grpc proto h2")!;
const connectH1 = CLIENT_KINDS.find((k) => k.name === "connect json h1")!;
const webH1 = CLIENT_KINDS.find((k) => k.name === "grpc-web proto h1")!;

describe("deadlines, cancellation, compression, failures", () => {
  let f: Fixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it.each([grpc, connectH1, webH1])(
    "a hanging upstream ends in DEADLINE_EXCEEDED before the client's deadline ($name)",
    async (kind) => {
      f = await startFixture({ protocol: "connect" });
      f.replicas[0].faults.hang = true;
      const t0 = performance.now();
      // The gateway answers, not the client's own timer: the message says so.
      const err = await callError(echoClient(kind, f.url).echo({ message: "x" }, { timeoutMs: 300 }));
      const took = performance.now() - t0;
      expect(err.code).toBe(Code.DeadlineExceeded);
      expect(took).toBeGreaterThan(250);
      expect(took).toBeLessThan(2000);
    },
  );

  it("the cluster's default timeout applies when the client sets none", async () => {
    f = await startFixture({ timeoutMs: 200 });
    f.replicas[0].faults.hang = true;
    const err = await callError(echoClient(grpc, f.url).echo({ message: "x" }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.rawMessage).toContain("gateway");
  });

  it.each([grpc, connectH1])("cancelling a stream cancels it upstream ($name)", async (kind) => {
    f = await startFixture();
    const ac = new AbortController();
    const got: number[] = [];
    const err = await callError(async () => {
      for await (const m of echoClient(kind, f!.url).count({ count: 1000, intervalMs: 20 }, { signal: ac.signal })) {
        got.push(m.n);
        if (m.n === 3) ac.abort();
      }
    });
    expect(err?.code).toBe(Code.Canceled);
    expect(got).toEqual([1, 2, 3]);
    await expect.poll(() => f!.replicas[0].stats.cancelled, { timeout: 2000 }).toBeGreaterThanOrEqual(1);
  });

  it.each(CLIENT_KINDS.filter((k) => !k.name.includes("json")))("gzip both ways ($name)", async (kind) => {
    f = await startFixture();
    const { createClient } = await import("@connectrpc/connect");
    const { EchoService } = await import("../../gen/acme/echo/v1/echo_pb.js");
    const transport = kind.transport(f.url);
    // connect-node transports take compression options at creation: rebuild with them.
    const opts = {
      baseUrl: f.url,
      sendCompression: (await import("@connectrpc/connect-node")).compressionGzip,
      compressMinBytes: 10,
    };
    const mod = await import("@connectrpc/connect-node");
    const t = kind.name.startsWith("grpc-web")
      ? mod.createGrpcWebTransport({ ...opts, httpVersion: kind.name.endsWith("h1") ? "1.1" : "2" })
      : kind.name.startsWith("grpc")
        ? mod.createGrpcTransport(opts)
        : mod.createConnectTransport({
            ...opts,
            httpVersion: kind.name.endsWith("h1") ? "1.1" : "2",
            useBinaryFormat: true,
          });
    void transport;
    const big = "z".repeat(50_000);
    const res = await createClient(EchoService, t).echo({ message: big });
    expect(res.message).toBe(big);
  });

  it("an unreachable upstream is UNAVAILABLE naming the cluster", async () => {
    f = await startFixture({ weights: [], extraEndpoints: ["127.0.0.1:1"] });
    for (const kind of [grpc, connectH1, webH1]) {
      const err = await callError(echoClient(kind, f.url).echo({ message: "x" }));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toContain('cluster "echo"');
    }
  });

  it("when every endpoint is out, calls fail fast with UNAVAILABLE naming the cluster and why", async () => {
    const hc = {
      enabled: true,
      intervalMs: 50,
      timeoutMs: 200,
      unhealthyThreshold: 1,
      healthyThreshold: 1,
      service: "",
    };
    f = await startFixture({ weights: [1, 1], resilience: { healthCheck: hc } });
    for (const r of f.replicas) r.health.setServing(false);
    await expect
      .poll(() => f!.gateway.clusters.endpointSet("echo")!.list.every((e) => e.health?.healthy === false))
      .toBe(true);
    const t0 = performance.now();
    const err = await callError(echoClient(grpc, f.url).echo({ message: "x" }, { timeoutMs: 5000 }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toContain('cluster "echo" has no endpoint available');
    expect(err.rawMessage).toContain("failing health checks");
    expect(performance.now() - t0).toBeLessThan(1000);
    // And back in service once they pass again.
    for (const r of f.replicas) r.health.setServing(true);
    await expect
      .poll(() =>
        echoClient(grpc, f!.url)
          .echo({ message: "y" })
          .then(
            (r) => r.message,
            () => "",
          ),
      )
      .toBe("y");
  });

  it("a lone endpoint answering errors is ejected but still served (panic routing), not cut off", async () => {
    f = await startFixture();
    const client = echoClient(grpc, f.url);
    // Six application-level UNAVAILABLE answers in a row from a healthy replica.
    for (let i = 0; i < 6; i++) {
      const err = await callError(
        client.write({ key: "k", value: "v" }, { headers: { "x-echo-fail": "unavailable" } }),
      );
      expect(err.rawMessage).toBe("requested failure");
    }
    const set = f.gateway.clusters.endpointSet("echo")!;
    expect(set.outliers.isEjected(set.list[0].outlier)).toBe(true);
    expect((await client.echo({ message: "still served" })).message).toBe("still served");
  });

  it("spreads calls over replicas in proportion to their weights", async () => {
    f = await startFixture({ weights: [1, 1, 2] });
    const client = echoClient(grpc, f.url);
    const counts: Record<string, number> = {};
    const N = 2000;
    for (let i = 0; i < N; i += 50) {
      const batch = await Promise.all(Array.from({ length: 50 }, () => client.echo({ message: "w" })));
      for (const r of batch) counts[r.replica] = (counts[r.replica] ?? 0) + 1;
    }
    expect(counts.r1 / N).toBeCloseTo(0.25, 1);
    expect(counts.r2 / N).toBeCloseTo(0.25, 1);
    expect(counts.r3 / N).toBeCloseTo(0.5, 1);
    // What the replicas themselves counted agrees with what clients saw.
    expect(f.replicas.map((r) => r.stats.calls.Echo)).toEqual([counts.r1, counts.r2, counts.r3]);
  });

  it("large messages and many concurrent streams pass intact", async () => {
    f = await startFixture({ maxMessageBytes: 8 * 1024 * 1024 });
    const client = echoClient(grpc, f.url);
    const big = "q".repeat(3 * 1024 * 1024);
    const res = await client.echo({ message: big });
    expect(res.message.length).toBe(big.length);
    const all = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        let last = 0;
        for await (const m of client.count({ count: 20 })) last = m.n;
        return last + i * 0;
      }),
    );
    expect(all.every((n) => n === 20)).toBe(true);
  });
});
