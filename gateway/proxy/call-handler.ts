import type { CallHead, ResponseEvent, ResponseSink } from "../call/call.js";
import { Code, CallError, type Status, toStatus } from "../call/status.js";
import { shave } from "../call/deadline.js";
import { Cancel } from "../call/cancel.js";
import { mapIterable } from "../call/iterables.js";
import { runCall, runUnaryCall } from "../policy/call-attempts.js";
import { hasUnaryLane } from "../protocol/outbound.js";
import { isSafeToRepeat } from "../policy/idempotency.js";
import type { InboundProtocol, ServerRequest, ServerResponseLike } from "../protocol/inbound.js";
import { transcoder, type Transcoder } from "../transcode/transcode.js";
import type { MethodRegistry } from "../transcode/registry.js";
import type { RouteTable } from "../route/route-table.js";
import type { Cluster } from "../cluster/cluster.js";
import { ACCEPTED_CONTENT_TYPES } from "./detect.js";
import type { Cors } from "./cors.js";
import type { InFlight } from "./inflight.js";

/** Upstream messages are refused above max(limits.maxMessageBytes, this): 4 MiB, gRPC's default receive limit. */
const MIN_RESPONSE_LIMIT = 4 * 1024 * 1024;

export interface ProxyState {
  routes: RouteTable;
  clusters: Map<string, Cluster>;
  methods: MethodRegistry;
  maxBytes: number;
  cors: Cors;
  /** Calls in flight, so a graceful stop can wait for them. */
  inflight: InFlight;
}

/** Entry point for every RPC-shaped request on a listener; `protocol` is what detectProtocol found. */
export function handleRpc(state: ProxyState, req: ServerRequest, res: ServerResponseLike, protocol: InboundProtocol | undefined): void {
  // A client that resets its stream must never take the process down.
  req.on("error", () => {});
  res.on("error", () => {});
  if (state.cors.preflight(req, res)) return;
  state.cors.decorate(req, res);
  if (req.method !== "POST" && req.method !== "GET") {
    res.writeHead(405, { allow: "POST, GET", "content-type": "text/plain; charset=utf-8" });
    res.end(`method ${req.method} is not allowed for RPCs: use POST (or GET for Connect calls to NO_SIDE_EFFECTS methods)\n`);
    req.resume();
    return;
  }
  if (!protocol) {
    res.writeHead(415, { "content-type": "text/plain; charset=utf-8", "accept-post": ACCEPTED_CONTENT_TYPES });
    res.end(`unsupported content-type "${req.headers["content-type"] ?? ""}": send gRPC, gRPC-Web or Connect (${ACCEPTED_CONTENT_TYPES})\n`);
    req.resume();
    return;
  }
  // In flight until the call is done and its response flushed and closed,
  // not merely ended: a drain that destroys connections earlier would cut
  // off the trailers.
  const leave = state.inflight.enter(2);
  proxyCall(state, protocol, req, res, leave).then(leave, leave);
}

async function proxyCall(state: ProxyState, protocol: InboundProtocol, req: ServerRequest, res: ServerResponseLike, closed: () => void): Promise<void> {
  const cancel = new Cancel();
  let ending: Status | undefined;
  const abortWith = (s: Status) => {
    ending ??= s;
    cancel.cancel();
  };
  let done = false;
  // Not res.writableFinished: HTTP/2's compat response reports a stream the
  // client reset as finished. First thing, so the call always leaves the
  // in-flight count.
  res.on("close", () => {
    if (!done) abortWith({ code: Code.CANCELLED, message: "client cancelled the call", details: [] });
    closed();
  });
  const sink = protocol.sink(req, res);
  let timer: NodeJS.Timeout | undefined;
  const started = performance.now();
  try {
    const { head, messages, whole } = protocol.parse(req, { maxBytes: state.maxBytes });
    const plan = planCall(state, protocol, req, head);
    if (plan.timeoutMs !== undefined) {
      const ms = plan.timeoutMs;
      timer = setTimeout(
        () => abortWith({ code: Code.DEADLINE_EXCEEDED, message: `deadline of ${ms} ms exceeded (gateway)`, details: [] }),
        Math.max(0, ms - shave(ms)),
      );
    }
    // Written out for each path, not spread with `messages` added: see copyMetadata.
    const policyInput = <M>(messages: M) => ({
      cluster: plan.cluster,
      head: plan.upstreamHead,
      messages,
      deadline: plan.timeoutMs === undefined ? undefined : started + plan.timeoutMs,
      cancel,
      // limits.maxMessageBytes is what clients may send (a server's
      // "message receive limit"); responses only need a guard against
      // unbounded buffering, which must not be smaller than the default.
      maxBytes: Math.max(state.maxBytes, MIN_RESPONSE_LIMIT),
      safe: plan.safe,
    });
    const t = plan.requestTranscoder;
    if (plan.unaryLane && whole) {
      // The unary lane: request read whole, answer read whole, no async
      // step per chunk or event; the same policy, breakers and bookkeeping.
      const request = await whole(cancel);
      const events = await runUnaryCall(policyInput(t ? request.map((m) => ({ data: t(m.data) })) : request));
      for (const ev of events) {
        if (cancel.cancelled) throw new CallError(Code.CANCELLED, "call aborted");
        // The answer is in memory already; Node buffers what the client has not read yet.
        void deliver(ev, sink, plan.responseTranscoder);
      }
      return;
    }
    // Request messages on their way up: transcoded, and any client-side
    // fault (bad frame, size limit, bad JSON) recorded as the call's status.
    const guarded = mapIterable(messages, t ?? same, (err) => abortWith(toStatus(err)));
    const events = runCall(policyInput(guarded));
    await forward(events, sink, plan.responseTranscoder, cancel);
  } catch (err) {
    sink.end(ending ?? toStatus(err), {});
  } finally {
    done = true;
    clearTimeout(timer);
    // Whatever ended the call, nothing upstream should keep working on it.
    cancel.cancel();
    // A call can end before its request did (a size limit, an early error):
    // discard the rest, so the client can finish sending and read the
    // answer, and an HTTP/1.1 connection stays usable.
    if (!req.readableEnded && !req.destroyed) req.resume();
  }
}

interface CallPlan {
  cluster: Cluster;
  upstreamHead: CallHead;
  timeoutMs: number | undefined;
  requestTranscoder: Transcoder | undefined;
  responseTranscoder: Transcoder | undefined;
  /** Retries and hedges may repeat the call. */
  safe: boolean;
  /** A unary method to an upstream protocol with a unary lane. */
  unaryLane: boolean;
}

/** Route, method facts and codecs: everything decided before the first byte goes upstream. */
function planCall(state: ProxyState, protocol: InboundProtocol, req: ServerRequest, head: CallHead): CallPlan {
  const info = state.methods.lookup(head.path);
  if (info) head.kind = info.kind;
  const route = state.routes.match(head.path);
  if (!route) throw new CallError(Code.UNIMPLEMENTED, `no route for ${head.path}: add a route whose match covers it`);
  const cluster = state.clusters.get(route.cluster);
  if (!cluster) throw new CallError(Code.INTERNAL, `route for ${head.path} names unknown cluster "${route.cluster}"`);
  if (protocol.name === "connect" && req.httpVersionMajor < 2 && head.kind === "bidi_streaming") {
    throw new CallError(Code.UNIMPLEMENTED, `${head.path} is a bidi streaming method, which needs HTTP/2; this request came over HTTP/1.1`);
  }
  if (cluster.config.http === "1.1" && head.kind === "bidi_streaming") {
    throw new CallError(Code.UNIMPLEMENTED, `${head.path} is a bidi streaming method, but cluster "${cluster.name}" speaks HTTP/1.1 upstream, which cannot carry it; set http: "2" on the cluster`);
  }
  if (req.method === "GET" && info && !info.noSideEffects) {
    throw new CallError(Code.UNIMPLEMENTED, `${head.path} is not marked NO_SIDE_EFFECTS, so it cannot be called with GET; use POST`);
  }
  const outCodec = cluster.config.codec === "same" ? head.codec : cluster.config.codec;
  let requestTranscoder: Transcoder | undefined;
  let responseTranscoder: Transcoder | undefined;
  if (outCodec !== head.codec) {
    if (!info) {
      throw new CallError(
        Code.UNIMPLEMENTED,
        `cannot translate ${head.codec} to ${outCodec} for ${head.path}: no descriptor for this method (add its FileDescriptorSet to descriptorSets, or set codec: same on cluster "${cluster.name}")`,
      );
    }
    const reg = state.methods.registry;
    requestTranscoder = transcoder(head.codec, outCodec, info.desc.input, reg, "request");
    responseTranscoder = transcoder(outCodec, head.codec, info.desc.output, reg, "response");
  }
  const timeoutMs = head.timeoutMs ?? route.timeoutMs ?? cluster.config.timeoutMs;
  const safe = isSafeToRepeat(head.path, info?.idempotent ?? false, cluster.config.resilience.idempotentMethods);
  const unaryLane = head.kind === "unary" && hasUnaryLane(cluster.protocol);
  return { cluster, upstreamHead: { ...head, codec: outCodec }, timeoutMs, requestTranscoder, responseTranscoder, safe, unaryLane };
}

const same = (m: Uint8Array) => m;

async function forward(
  events: AsyncIterable<ResponseEvent>,
  sink: ResponseSink,
  t: Transcoder | undefined,
  cancel: Cancel,
): Promise<void> {
  let off: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    // Calls end normally far more often than not: no error built for them.
    off = cancel.on(() => reject(new CallError(Code.CANCELLED, "call aborted")));
  });
  aborted.catch(() => {});
  try {
    await pump(events, sink, t, cancel, aborted);
  } finally {
    off!();
  }
}

async function pump(
  events: AsyncIterable<ResponseEvent>,
  sink: ResponseSink,
  t: Transcoder | undefined,
  cancel: Cancel,
  aborted: Promise<never>,
): Promise<void> {
  for await (const ev of events) {
    if (cancel.cancelled) throw new CallError(Code.CANCELLED, "call aborted");
    const w = deliver(ev, sink, t);
    if (w) await Promise.race([w, aborted]);
    if (ev.type === "end") return;
  }
}

/** Hands one event to the client; a promise while the client is not reading. */
function deliver(ev: ResponseEvent, sink: ResponseSink, t: Transcoder | undefined): Promise<void> | void {
  switch (ev.type) {
    case "headers":
      return sink.headers(ev.metadata);
    case "message":
      return t ? sink.message(t(ev.data)) : sink.message(ev.data, ev.frame);
    case "end":
      return sink.end(ev.status, ev.trailers);
  }
}
