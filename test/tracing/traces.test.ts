import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { EchoResponseSchema, EchoService } from "../../gen/acme/echo/v1/echo_pb.js";
import { validateConfigObject } from "../../gateway/config/load.js";
import { demoDescriptors } from "../../gateway/demo.js";
import { startGateway, type Gateway } from "../../gateway/server.js";
import { startCollector, type CollectedSpan, type Collector } from "../helpers/otel-collector.js";
import { startScriptedUpstream, type Script } from "../helpers/scripted-upstream.js";

// Traces as a real OpenTelemetry Collector receives them over OTLP/HTTP,
// against what the upstreams were sent.

const SERVER = 2;
const CLIENT = 3;
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const reply = (name: string) =>
  Buffer.from(toBinary(EchoResponseSchema, create(EchoResponseSchema, { message: "ok", replica: name })));

/** A slow primary A and a standby B: a call's first attempt goes to A, its hedge to B. */
async function hedgedPair(a: Script, b: Script, extra: Record<string, unknown>) {
  const A = await startScriptedUpstream(a);
  const B = await startScriptedUpstream(b);
  cleanup.push(A.close, B.close);
  const config = await validateConfigObject(
    {
      listeners: [{ port: 0, host: "127.0.0.1" }],
      clusters: {
        c: {
          protocol: "grpc",
          endpoints: [A.address, { address: B.address, priority: 1 }],
          healthCheck: false,
          outlierDetection: false,
          hedgingPolicy: { maxAttempts: 2, hedgingDelay: "50ms" },
        },
      },
      routes: [{ match: { service: "acme.echo.v1.EchoService" }, cluster: "c" }],
      ...extra,
    },
    process.cwd(),
  );
  const gw: Gateway = await startGateway(config, { descriptors: demoDescriptors });
  cleanup.push(() => gw.close());
  const client = createClient(EchoService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${gw.ports[0]}` }));
  return { A, B, gw, client };
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const portOf = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1));

describe("traces", { timeout: 60_000 }, () => {
  let collector: Collector;
  afterEach(async () => collector?.close());

  it("a hedged call is one trace: the client's, a server span and two sibling attempt spans, each sent upstream", async () => {
    collector = await startCollector();
    const { A, B, gw, client } = await hedgedPair(
      () => ({ status: 0, reply: reply("A"), delayMs: 3000 }),
      () => ({ status: 0, reply: reply("B") }),
      { tracing: { otlp: { endpoint: collector.url }, sampleRatio: 1, serviceName: "edge" } },
    );
    const traceId = hex(16);
    const clientSpan = hex(8);
    const res = await client.echo({ message: "x" }, { headers: { traceparent: `00-${traceId}-${clientSpan}-01` } });
    expect(res.replica).toBe("B");
    // The loser is cancelled upstream; its span ends with it.
    await expect.poll(() => A.seen[0]?.cancelled, { timeout: 5000 }).toBe(true);
    await gw.observability.flush();
    const inTrace = () => collector.spans().filter((s) => s.traceId === traceId);
    await expect.poll(() => inTrace().length, { timeout: 10_000 }).toBe(3);

    const spans = inTrace();
    expect(collector.spans().every((s) => s.traceId === traceId)).toBe(true);
    const server = spans.find((s) => s.kind === SERVER)!;
    expect(server).toMatchObject({
      name: "acme.echo.v1.EchoService/Echo",
      parentSpanId: clientSpan,
      service: "edge",
      attributes: {
        "rpc.system": "grpc",
        "rpc.service": "acme.echo.v1.EchoService",
        "rpc.method": "Echo",
        "rpc.grpc.status_code": 0,
        "switchyard.cluster": "c",
        "switchyard.attempts": 2,
      },
    });
    const attempts = spans.filter((s) => s.kind === CLIENT);
    expect(attempts.every((s) => s.parentSpanId === server.spanId)).toBe(true);
    const first = attempts.find((s) => s.attributes["switchyard.attempt"] === "first") as CollectedSpan;
    const hedge = attempts.find((s) => s.attributes["switchyard.attempt"] === "hedge") as CollectedSpan;
    expect(first.attributes).toMatchObject({
      "grpc.previous_rpc_attempts": 0,
      "server.address": "127.0.0.1",
      "server.port": portOf(A.address),
      "rpc.grpc.status_code": 1,
    });
    expect(hedge.attributes).toMatchObject({
      "grpc.previous_rpc_attempts": 1,
      "server.port": portOf(B.address),
      "rpc.grpc.status_code": 0,
      "switchyard.hedge.outcome": "won",
    });
    // Each upstream was told its own attempt's span, in the client's trace.
    expect(A.seen[0].headers.traceparent).toBe(`00-${traceId}-${first.spanId}-01`);
    expect(B.seen[0].headers.traceparent).toBe(`00-${traceId}-${hedge.spanId}-01`);
  });

  it("samples root calls by sampleRatio, and still tells the upstream the trace it is not in", async () => {
    collector = await startCollector();
    const { A, gw, client } = await hedgedPair(
      () => ({ status: 0, reply: reply("A") }),
      () => ({ status: 0, reply: reply("B") }),
      { tracing: { otlp: { endpoint: collector.url }, sampleRatio: 0 } },
    );
    await client.echo({ message: "x" });
    await gw.observability.flush();
    expect(String(A.seen[0].headers.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    // A client's sampled trace is followed whatever the ratio.
    const traceId = hex(16);
    await client.echo({ message: "x" }, { headers: { traceparent: `00-${traceId}-${hex(8)}-01` } });
    await gw.observability.flush();
    await expect.poll(() => collector.spans().length, { timeout: 10_000 }).toBe(2);
    expect(collector.spans().every((s) => s.traceId === traceId)).toBe(true);
  });

  it("is off by default: no observer, and the client's traceparent goes upstream untouched", async () => {
    const { A, gw, client } = await hedgedPair(
      () => ({ status: 0, reply: reply("A") }),
      () => ({ status: 0, reply: reply("B") }),
      {},
    );
    expect(gw.observability.observer).toBeUndefined();
    const traceparent = `00-${hex(16)}-${hex(8)}-01`;
    await client.echo({ message: "x" }, { headers: { traceparent, tracestate: "k=v" } });
    expect(A.seen[0].headers).toMatchObject({ traceparent, tracestate: "k=v" });
  });
});
