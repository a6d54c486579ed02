import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { MethodKind } from "../call/call.js";
import type { Endpoint } from "../cluster/endpoint.js";
import { ENDPOINT_STATES, type WorkerFacts, endpointState } from "../cluster/endpoint-state.js";
import { CounterFamily, type CounterSeries, HistogramFamily, type HistogramSeries } from "./metric-families.js";
import {
  type AttemptKind,
  type AttemptRecord,
  type CallRecord,
  type CallSink,
  type HedgeOutcome,
  UNKNOWN,
  type WireProtocol,
  codeName,
} from "./observer.js";

/** Each cluster's endpoints now, read at scrape time. */
export type EndpointsNow = () => Iterable<readonly [cluster: string, endpoints: readonly Endpoint[]]>;

/**
 * With `workers: N`, for the primary's endpoints: what its workers say of
 * one (ejected, breaker open on any; `up`: every worker would take a call on
 * it), or undefined when no worker reported it.
 */
export type WorkersSay = (cluster: string, address: string) => (WorkerFacts & { up: boolean }) | undefined;

/**
 * The families the primary of `workers: N` answers for itself when it adds
 * up its workers' registries (workers/group-metrics.ts), so the workers'
 * copies are left out: it runs the reloads and discovery once for the group,
 * and an endpoint's up and state are the group's (from its own view of drains
 * and health with what every worker says), not one worker's.
 */
export const PRIMARY_FAMILIES: ReadonlySet<string> = new Set([
  "switchyard_config_reloads_total",
  "switchyard_discovery_updates_total",
  "switchyard_endpoint_up",
  "switchyard_endpoint_state",
]);

/** go-grpc-prometheus's grpc_type values. */
const GRPC_TYPE: Record<MethodKind, string> = {
  unary: "unary",
  client_streaming: "client_stream",
  server_streaming: "server_stream",
  bidi_streaming: "bidi_stream",
};
const KINDS: readonly (MethodKind | undefined)[] = [
  "unary",
  "client_streaming",
  "server_streaming",
  "bidi_streaming",
  undefined,
];
const ATTEMPT_KINDS: readonly AttemptKind[] = ["first", "retry", "hedge", "transparent"];
const CODES = 17;

/** The series of one (protocol, service, method, grpc_type). */
interface MethodSeries {
  labels: Record<string, string>;
  started: CounterSeries;
  received: CounterSeries;
  sent: CounterSeries;
  handling: HistogramSeries;
  /** By code, made when a code first occurs. */
  handled: (CounterSeries | undefined)[];
}

/** The series of one endpoint of one cluster. */
interface EndpointSeries {
  duration: HistogramSeries;
  /** By attempt kind x code, made when first used. */
  attempts: (CounterSeries | undefined)[];
}

interface ClusterSeries {
  hedges: Partial<Record<HedgeOutcome, CounterSeries>>;
  budgetExhausted: CounterSeries | undefined;
}

/**
 * The gateway's Prometheus metrics (issue 13's names, go-grpc-prometheus's
 * for inbound calls, with a `protocol` label), in a registry of their own.
 * A call sink: each label set's series is made once and cached, so a call
 * costs a few map lookups and additions.
 */
export class GatewayMetrics implements CallSink {
  readonly registry = new Registry();
  private readonly startedF: CounterFamily;
  private readonly handledF: CounterFamily;
  private readonly receivedF: CounterFamily;
  private readonly sentF: CounterFamily;
  private readonly handlingF: HistogramFamily;
  private readonly attemptsF: CounterFamily;
  private readonly attemptDurationF: HistogramFamily;
  private readonly hedgesF: CounterFamily;
  private readonly budgetF: CounterFamily;
  private readonly reloads: Counter<"result">;
  private readonly discoveryUpdates: Counter<"cluster" | "result">;
  /** By protocol, then by path (named methods), service (service-only) or "unknown", then by kind. */
  private readonly methods: Record<WireProtocol, Map<string, (MethodSeries | undefined)[]>> = {
    grpc: new Map(),
    grpc_web: new Map(),
    connect: new Map(),
  };
  private readonly endpoints = new Map<string, Map<string, EndpointSeries>>();
  private readonly clusters = new Map<string, ClusterSeries>();

  constructor(endpointsNow: EndpointsNow, workersSay?: WorkersSay) {
    const r = this.registry;
    collectDefaultMetrics({ register: r });
    // Gauges named like counters, which promtool check metrics refuses; the
    // by-type gauges without _total stay, and sum() to the same number.
    for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"])
      r.removeSingleMetric(name);
    this.startedF = new CounterFamily("grpc_server_started_total", "Total number of RPCs started on the server.", r);
    this.handledF = new CounterFamily(
      "grpc_server_handled_total",
      "Total number of RPCs completed on the server, regardless of success or failure.",
      r,
    );
    this.receivedF = new CounterFamily(
      "grpc_server_msg_received_total",
      "Total number of RPC stream messages received on the server.",
      r,
    );
    this.sentF = new CounterFamily(
      "grpc_server_msg_sent_total",
      "Total number of gRPC stream messages sent by the server.",
      r,
    );
    this.handlingF = new HistogramFamily(
      "grpc_server_handling_seconds",
      "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
      r,
    );
    this.attemptsF = new CounterFamily(
      "switchyard_upstream_attempts_total",
      "Upstream attempts by cluster, endpoint, final gRPC code and why the attempt was made (first, retry, hedge, transparent).",
      r,
    );
    this.attemptDurationF = new HistogramFamily(
      "switchyard_upstream_attempt_duration_seconds",
      "How long upstream attempts took, from start to their end.",
      r,
    );
    this.hedgesF = new CounterFamily(
      "switchyard_hedges_total",
      "Hedged attempts by outcome: won (the call took its answer), lost, or cancelled with the call.",
      r,
    );
    this.budgetF = new CounterFamily(
      "switchyard_retry_budget_exhausted_total",
      "Retries and hedges not made because the cluster's retry budget was spent.",
      r,
    );
    this.reloads = new Counter({
      name: "switchyard_config_reloads_total",
      help: "Config reloads by result: reloaded, unchanged or rejected.",
      labelNames: ["result"],
      registers: [r],
    });
    for (const result of ["reloaded", "unchanged", "rejected"]) this.reloads.inc({ result }, 0);
    this.discoveryUpdates = new Counter({
      name: "switchyard_discovery_updates_total",
      help: "Answers from a cluster's discovery provider: success (an endpoint list) or failure (the last list is kept).",
      labelNames: ["cluster", "result"],
      registers: [r],
    });
    endpointGauges(r, endpointsNow, workersSay);
  }

  started(call: CallRecord): void {
    const m = this.methodSeries(call);
    m.started.value++;
    call.receivedCount = m.received;
    call.sentCount = m.sent;
    call.metricsSlot = m;
  }

  ended(call: CallRecord): void {
    const m = call.metricsSlot as MethodSeries;
    const code = call.code < CODES ? call.code : 2;
    (m.handled[code] ??= this.handledF.series({ ...m.labels, grpc_code: codeName(code) })).value++;
    m.handling.observe(call.durationMs / 1000);
  }

  attemptEnded(call: CallRecord, a: AttemptRecord): void {
    const cluster = call.cluster ?? UNKNOWN;
    const e = this.endpointSeries(cluster, a.endpoint);
    const code = a.code < CODES ? a.code : 2;
    const i = ATTEMPT_KINDS.indexOf(a.kind) * CODES + code;
    (e.attempts[i] ??= this.attemptsF.series({
      cluster,
      endpoint: a.endpoint,
      grpc_code: codeName(code),
      attempt: a.kind,
    })).value++;
    e.duration.observe(a.durationMs / 1000);
  }

  hedgeEnded(call: CallRecord, _a: AttemptRecord, outcome: HedgeOutcome): void {
    const cluster = call.cluster ?? UNKNOWN;
    const c = this.clusterSeries(cluster);
    (c.hedges[outcome] ??= this.hedgesF.series({ cluster, outcome })).value++;
  }

  budgetExhausted(call: CallRecord): void {
    const cluster = call.cluster ?? UNKNOWN;
    const c = this.clusterSeries(cluster);
    (c.budgetExhausted ??= this.budgetF.series({ cluster })).value++;
  }

  /** A reload ended with `result` (reloaded, unchanged, rejected). */
  reloaded(result: string): void {
    this.reloads.inc({ result });
  }

  /** A discovery provider answered for `cluster` (ok: an endpoint list; else a failure). */
  discoveryUpdate(cluster: string, ok: boolean): void {
    this.discoveryUpdates.inc({ cluster, result: ok ? "success" : "failure" });
  }

  /** The exposition, in Prometheus's text format. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private methodSeries(call: CallRecord): MethodSeries {
    const byKey = this.methods[call.protocol];
    // Named methods by path; otherwise the service (or "unknown") says it all.
    const key = call.method !== UNKNOWN ? call.path : call.service;
    let byKind = byKey.get(key);
    if (!byKind) byKey.set(key, (byKind = []));
    const k = call.kind === undefined ? 4 : KINDS.indexOf(call.kind);
    return (byKind[k] ??= this.newMethodSeries(call));
  }

  private newMethodSeries(call: CallRecord): MethodSeries {
    const labels = {
      grpc_type: call.kind === undefined ? UNKNOWN : GRPC_TYPE[call.kind],
      grpc_service: call.service,
      grpc_method: call.method,
      protocol: call.protocol,
    };
    return {
      labels,
      started: this.startedF.series(labels),
      received: this.receivedF.series(labels),
      sent: this.sentF.series(labels),
      handling: this.handlingF.series(labels),
      handled: [],
    };
  }

  private endpointSeries(cluster: string, endpoint: string): EndpointSeries {
    let byEndpoint = this.endpoints.get(cluster);
    if (!byEndpoint) this.endpoints.set(cluster, (byEndpoint = new Map()));
    let e = byEndpoint.get(endpoint);
    if (!e) {
      e = { duration: this.attemptDurationF.series({ cluster, endpoint }), attempts: [] };
      byEndpoint.set(endpoint, e);
    }
    return e;
  }

  private clusterSeries(cluster: string): ClusterSeries {
    let c = this.clusters.get(cluster);
    if (!c) this.clusters.set(cluster, (c = { hedges: {}, budgetExhausted: undefined }));
    return c;
  }
}

/**
 * Endpoint up, state and in-flight gauges, computed from the cluster manager
 * when scraped (in a primary, with what its workers say). In-flight keeps
 * prom-client's default aggregator, sum: the group's is every worker's added.
 */
function endpointGauges(registry: Registry, endpointsNow: EndpointsNow, workersSay?: WorkersSay): void {
  const labelNames = ["cluster", "endpoint"] as const;
  new Gauge({
    name: "switchyard_endpoint_up",
    help: "1 when the endpoint would take a call now, else 0.",
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [cluster, eps] of endpointsNow())
        for (const e of eps) {
          const up = e.unavailableReason() === undefined && (workersSay?.(cluster, e.address)?.up ?? true);
          this.set({ cluster, endpoint: e.address }, up ? 1 : 0);
        }
    },
  });
  new Gauge({
    name: "switchyard_endpoint_state",
    help: "1 for the endpoint's current state: healthy, unhealthy, ejected, breaker_open or draining.",
    labelNames: [...labelNames, "state"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [cluster, eps] of endpointsNow()) {
        for (const e of eps) {
          const now = endpointState(e, workersSay?.(cluster, e.address));
          for (const state of ENDPOINT_STATES) this.set({ cluster, endpoint: e.address, state }, state === now ? 1 : 0);
        }
      }
    },
  });
  new Gauge({
    name: "switchyard_endpoint_inflight",
    help: "Attempts in flight on the endpoint.",
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [cluster, eps] of endpointsNow())
        for (const e of eps) this.set({ cluster, endpoint: e.address }, e.inflight);
    },
  });
}
