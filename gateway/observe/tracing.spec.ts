import { describe, expect, it } from "vitest";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace";
import { SpanKind } from "@opentelemetry/api";
import { Code } from "../call/status.js";
import type { CallHead } from "../call/call.js";
import { Observer } from "./observer.js";
import { Tracing } from "./tracing.js";

const head = (metadata: Record<string, string> = {}): CallHead => ({
  path: "/acme.echo.v1.EchoService/Echo",
  service: "acme.echo.v1.EchoService",
  method: "Echo",
  kind: "unary",
  codec: "proto",
  metadata,
  timeoutMs: undefined,
});

async function traced(sampleRatio: number, run: (obs: Observer) => void) {
  const exporter = new InMemorySpanExporter();
  const tracing = new Tracing({ endpoint: "http://127.0.0.1:1/v1/traces", sampleRatio, serviceName: "t" }, exporter);
  run(new Observer([tracing], true));
  await tracing.flush();
  return exporter.getFinishedSpans();
}

describe("Tracing", () => {
  it("continues the client's trace: a server span, and a client span per attempt sent upstream as traceparent", async () => {
    const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let sent: (string | undefined)[] = [];
    const spans = await traced(0, (obs) => {
      const rec = obs.open("connect", { remoteAddress: "127.0.0.1", remotePort: 1 });
      rec.begin(head({ traceparent: parent, tracestate: "k=v" }), "method", "unary");
      rec.cluster = "echo";
      const a = rec.attempt("10.0.0.1:50051", "first", 0);
      const b = rec.attempt("[::1]:50052", "retry", 1);
      sent = [a.traceparent, a.tracestate, b.traceparent];
      a.end(Code.UNAVAILABLE);
      b.end(Code.OK);
      rec.code = Code.OK;
      rec.end();
      expect(rec.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    });
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    const [a, b] = spans.filter((s) => s.kind === SpanKind.CLIENT);
    expect(server.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(server.name).toBe("acme.echo.v1.EchoService/Echo");
    expect(server.attributes["rpc.system"]).toBe("connect_rpc");
    for (const s of [a, b]) expect(s.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(sent).toEqual([
      `00-0af7651916cd43dd8448eb211c80319c-${a.spanContext().spanId}-01`,
      "k=v",
      `00-0af7651916cd43dd8448eb211c80319c-${b.spanContext().spanId}-01`,
    ]);
    expect(a.attributes).toMatchObject({
      "grpc.previous_rpc_attempts": 0,
      "server.address": "10.0.0.1",
      "server.port": 50051,
    });
    expect(b.attributes).toMatchObject({
      "grpc.previous_rpc_attempts": 1,
      "server.address": "::1",
      "switchyard.attempt": "retry",
    });
    expect([a.status.code, b.status.code]).toEqual([2, 0]);
  });

  it("makes unsampled root calls non-recording spans: nothing exported, no trace id logged", async () => {
    let traceparent: string | undefined;
    let traceId: string | undefined = "set";
    const spans = await traced(0, (obs) => {
      const rec = obs.open("grpc", undefined);
      rec.begin(head(), undefined, undefined);
      traceparent = rec.attempt("h:1", "first", 0).traceparent;
      rec.code = Code.OK;
      rec.end();
      traceId = rec.traceId;
    });
    expect(spans).toEqual([]);
    expect(traceId).toBeUndefined();
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  });

  it("names calls it cannot name unknown, as metrics do", async () => {
    const spans = await traced(1, (obs) => {
      const rec = obs.open("grpc", undefined);
      rec.begin({ ...head(), path: "/scan.X/Y", service: "scan.X", method: "Y" }, undefined, undefined);
      rec.code = Code.UNIMPLEMENTED;
      rec.end();
    });
    expect(spans.map((s) => [s.name, s.status.code])).toEqual([["unknown/unknown", 2]]);
  });
});
