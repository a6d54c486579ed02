import {
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import type { CallHead } from "../call/call.js";
import { Code } from "../call/status.js";
import type { TracingConfig } from "../config/types.js";
import type { AttemptRecord, CallRecord, CallSink, WireProtocol } from "./observer.js";

/** OpenTelemetry's rpc.system for each inbound protocol. */
const RPC_SYSTEM: Record<WireProtocol, string> = { grpc: "grpc", grpc_web: "grpc", connect: "connect_rpc" };

/** Codes that mean the server failed (OpenTelemetry's gRPC conventions); a client span fails on any non-OK. */
const SERVER_ERRORS = new Set([
  Code.UNKNOWN,
  Code.DEADLINE_EXCEEDED,
  Code.UNIMPLEMENTED,
  Code.INTERNAL,
  Code.UNAVAILABLE,
  Code.DATA_LOSS,
]);

/**
 * Traces through OpenTelemetry: a server span per call, continuing the
 * client's W3C trace context, and a client span per upstream attempt, its
 * child, so retries and hedges are siblings. Each attempt sends its own
 * span's context upstream. Spans are batched and exported over OTLP/HTTP.
 */
export class Tracing implements CallSink {
  private readonly provider: TracerProvider;
  private readonly tracer: Tracer;
  private readonly propagator = new W3CTraceContextPropagator();

  constructor(
    readonly config: TracingConfig,
    /** Where spans go; OTLP/HTTP to config.endpoint unless a spec hands in another. */
    exporter: SpanExporter = new OTLPTraceExporter({ url: config.endpoint }),
  ) {
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ "service.name": config.serviceName }),
      // A client's sampled (or not) trace decides for its calls; sampleRatio decides for the rest.
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
      spanProcessors: [new BatchSpanProcessor({ exporter })],
    });
    this.tracer = this.provider.getTracer("switchyard");
  }

  started(c: CallRecord, head: CallHead | undefined): void {
    const parent = head ? this.propagator.extract(ROOT_CONTEXT, head.metadata, defaultTextMapGetter) : ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      `${c.service}/${c.method}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "rpc.system": RPC_SYSTEM[c.protocol],
          "rpc.service": c.service,
          "rpc.method": c.method,
          "switchyard.protocol": c.protocol,
          "network.peer.address": c.peerAddress,
          "network.peer.port": c.peerPort,
        },
      },
      parent,
    );
    c.traceSlot = span;
    if (span.isRecording()) c.traceId = span.spanContext().traceId;
  }

  attemptStarted(c: CallRecord, a: AttemptRecord): void {
    const parent = c.traceSlot as Span | undefined;
    if (!parent) return;
    const { host, port } = hostPort(a.endpoint);
    const span = this.tracer.startSpan(
      `${c.service}/${c.method}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "rpc.service": c.service,
          "rpc.method": c.method,
          "server.address": host,
          "server.port": port,
          "grpc.previous_rpc_attempts": a.previous,
          "switchyard.cluster": c.cluster,
          "switchyard.attempt": a.kind,
        },
      },
      trace.setSpan(ROOT_CONTEXT, parent),
    );
    a.traceSlot = span;
    const carrier: Record<string, string> = {};
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
    a.traceparent = carrier.traceparent;
    a.tracestate = carrier.tracestate;
  }

  attemptEnded(_c: CallRecord, a: AttemptRecord): void {
    const span = a.traceSlot as Span | undefined;
    if (!span) return;
    span.setAttribute("rpc.grpc.status_code", a.code);
    if (a.outcome) span.setAttribute("switchyard.hedge.outcome", a.outcome);
    if (a.code !== Code.OK) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }

  ended(c: CallRecord): void {
    const span = c.traceSlot as Span | undefined;
    if (!span) return;
    span.setAttribute("rpc.grpc.status_code", c.code);
    if (c.cluster !== undefined) span.setAttribute("switchyard.cluster", c.cluster);
    span.setAttribute("switchyard.attempts", c.attempts);
    if (SERVER_ERRORS.has(c.code)) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }

  /** Exports what is batched now. */
  flush(): Promise<void> {
    return this.provider.forceFlush();
  }

  /** Exports what is left and stops. */
  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}

function hostPort(address: string): { host: string; port: number | undefined } {
  const i = address.lastIndexOf(":");
  if (i < 0) return { host: address, port: undefined };
  const host = address.slice(0, i);
  return { host: host.startsWith("[") ? host.slice(1, -1) : host, port: Number(address.slice(i + 1)) };
}
