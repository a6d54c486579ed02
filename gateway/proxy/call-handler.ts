import type { CallHead, ResponseEvent, ResponseSink } from "../call/call.js";
import { Code, CallError, type Status, toStatus } from "../call/status.js";
import { Cancel } from "../call/cancel.js";
import { mapIterable } from "../call/iterables.js";
import type {
  InboundProtocol,
  RequestMessages,
  ResponseEvents,
  ServerRequest,
  ServerResponseLike,
} from "../protocol/contract.js";
import type { Transcoder } from "../transcode/transcode.js";
import { runCall } from "../policy/call-attempts.js";
import { planCall } from "../route/call-plan.js";
import type { Snapshot } from "../snapshot/snapshot.js";
import { closeIfRequestUnfinished, dropUnreadRequest } from "../protocol/server-io.js";
import { ACCEPTED_CONTENT_TYPES } from "./detect.js";
import type { InFlight } from "./inflight.js";
import type { CallRecord, Observer, PeerSocket, WireProtocol } from "../observe/observer.js";
import type { FairShare, Ticket } from "./fair-share.js";
import type { OverloadGuard } from "./overload.js";
import { StreamRequest } from "../listener/stream-exchange.js";
import type { IncomingMessage, ServerResponse } from "node:http";

/** Upstream messages are refused above max(limits.maxMessageBytes, this): 4 MiB, gRPC's default receive limit. */
const MIN_RESPONSE_LIMIT = 4 * 1024 * 1024;

/** What the proxy needs of the gateway: the current snapshot, and the calls in flight so a graceful stop can wait for them. */
export interface ProxyState {
  current(): Snapshot;
  inflight: InFlight;
  /** What observes calls (metrics, logs, traces); undefined: nothing does, and calls pay nothing for it. */
  observer: Observer | undefined;
  /** Each cluster's capacity shared among downstream connections; none: first come, first served. */
  fair?: FairShare;
  /** Refuses new calls while the process is overloaded; none: never. */
  overload?: OverloadGuard;
}

/** Entry point for every RPC-shaped request on a listener; `protocol` is what detectProtocol found. */
export function handleRpc(
  state: ProxyState,
  req: ServerRequest,
  res: ServerResponseLike,
  protocol: InboundProtocol | undefined,
): void {
  // A client that resets its stream must never take the process down (one
  // listener when both are the same HTTP/2 stream).
  req.on("error", ignore);
  if (!(req instanceof StreamRequest)) res.on("error", ignore);
  // Read once: the call keeps this snapshot to its end, whatever reloads.
  const snapshot = state.current();
  if (snapshot.cors.preflight(req, res)) return;
  snapshot.cors.decorate(req, res);
  if (req.method !== "POST" && req.method !== "GET") {
    closeIfRequestUnfinished(req, res);
    res.writeHead(405, { allow: "POST, GET", "content-type": "text/plain; charset=utf-8" });
    res.end(
      `method ${req.method} is not allowed for RPCs: use POST (or GET for Connect calls to NO_SIDE_EFFECTS methods)\n`,
    );
    dropUnreadRequest(req, res);
    return;
  }
  if (!protocol) {
    closeIfRequestUnfinished(req, res);
    res.writeHead(415, { "content-type": "text/plain; charset=utf-8", "accept-post": ACCEPTED_CONTENT_TYPES });
    res.end(
      `unsupported content-type "${req.headers["content-type"] ?? ""}": send gRPC, gRPC-Web or Connect (${ACCEPTED_CONTENT_TYPES})\n`,
    );
    dropUnreadRequest(req, res);
    return;
  }
  const refusal = state.overload?.refusal();
  if (refusal) {
    refuse(protocol, req, res, refusal.status, refusal.pushbackMs);
    return;
  }
  // In flight until the call is done and its response flushed and closed,
  // not merely ended: a drain that destroys connections earlier would cut
  // off the trailers.
  const leave = state.inflight.enter(2);
  proxyCall(state, snapshot, protocol, req, res, leave, state.observer).then(leave, leave);
}

async function proxyCall(
  state: ProxyState,
  snapshot: Snapshot,
  protocol: InboundProtocol,
  req: ServerRequest,
  res: ServerResponseLike,
  closed: () => void,
  observer: Observer | undefined,
): Promise<void> {
  // One record per call when anything observes (docs/DESIGN.md, "Observation").
  const rec = observer?.open(WIRE_NAME[protocol.name], observer.wantsPeer ? socketOf(req) : undefined);
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
  let plan: ReturnType<typeof planCall> | undefined;
  let ticket: Ticket | undefined;
  const idleMs = snapshot.config.limits.streamIdleTimeoutMs;
  if (idleMs > 0) watchIdle(req, res, idleMs, abortWith);
  try {
    const call = protocol.parse(req, { maxBytes: snapshot.maxBytes });
    if (rec) begin(rec, snapshot, call.head);
    plan = planCall(snapshot, protocol, req, call);
    if (rec) rec.cluster = plan.cluster.name;
    const { deadline } = plan;
    deadline?.arm(() => abortWith({ code: Code.DEADLINE_EXCEEDED, message: deadline.describe(), details: [] }));
    // Auth and rate limits, before the body is read or anything goes upstream.
    const admitted = snapshot.guard.admit(plan.route, plan.upstreamHead, req, res);
    if (admitted) await admitted;
    const t = plan.requestTranscoder;
    let messages: RequestMessages;
    if (plan.readWhole) {
      const request = await call.readWhole!(cancel);
      if (rec) for (const m of request) rec.messageIn(m.data.length);
      messages = t ? request.map((m) => ({ data: t(m.data) })) : request;
    } else {
      // Request messages on their way up: transcoded, and any client-side
      // fault (bad frame, size limit, bad JSON) recorded as the call's status.
      messages = mapIterable(call.messages, rec ? counted(rec, t) : (t ?? same), (err) => abortWith(toStatus(err)));
    }
    if (state.fair) {
      const admitted = state.fair.admit(plan.cluster.name, plan.cluster.capacity(), connectionOf(req), abortWith);
      ticket = admitted.ticket;
      // A heavier client's call was shed for this one: its place is free once it has let go.
      if (admitted.after) await raceCancel(admitted.after.then(nextTurn), cancel);
    }
    // A stream the client reset before it was routed (rapid reset) sends no work upstream.
    if (clientGone(req)) throw new CallError(Code.CANCELLED, "the client reset the stream before the call was sent");
    const events = runCall({
      cluster: plan.cluster,
      policy: plan.policy,
      head: plan.upstreamHead,
      messages,
      deadline,
      cancel,
      // limits.maxMessageBytes is what clients may send (a server's
      // "message receive limit"); responses only need a guard against
      // unbounded buffering, which must not be smaller than the default.
      maxBytes: Math.max(snapshot.maxBytes, MIN_RESPONSE_LIMIT),
      safe: plan.safe,
      observed: rec,
    });
    await forward(events, sink, plan.responseTranscoder, cancel, () => closeIfRequestUnfinished(req, res), rec);
  } catch (err) {
    closeIfRequestUnfinished(req, res);
    const s = ending ?? toStatus(err);
    if (rec) rec.code = s.code;
    sink.end(s, {});
  } finally {
    done = true;
    ticket?.end();
    plan?.deadline?.disarm();
    // Whatever ended the call, nothing upstream should keep working on it.
    cancel.cancel();
    // A call can end before its request did (a size limit, a bad frame, a
    // deadline): drop the rest without reading it to its end.
    dropUnreadRequest(req, res);
    rec?.end();
  }
}

const same = (m: Uint8Array) => m;

function ignore(): void {}

const WIRE_NAME: Record<InboundProtocol["name"], WireProtocol> = {
  grpc: "grpc",
  "grpc-web": "grpc_web",
  connect: "connect",
};

/**
 * Names the call for observers: by method when descriptors or a route name
 * it, by service when a route names that, else "unknown", so a scanner's
 * made-up paths cannot mint label values.
 */
function begin(rec: CallRecord, snapshot: Snapshot, head: CallHead): void {
  const info = snapshot.methods.lookup(head.path);
  rec.begin(head, info ? "method" : snapshot.routes.match(head.path)?.names, info?.kind ?? head.kind);
}

/** Request messages counted on their way up (only when observed). */
function counted(rec: CallRecord, t: Transcoder | undefined): (m: Uint8Array) => Uint8Array {
  return (m) => {
    rec.messageIn(m.length);
    return t ? t(m) : m;
  };
}

/** The client's socket, read for the peer address while it is there. */
function socketOf(req: ServerRequest): PeerSocket | undefined {
  return "stream" in req ? req.stream.session?.socket : req.socket;
}

/** The downstream connection a request came on: its HTTP/2 session, or its HTTP/1.1 socket. */
function connectionOf(req: ServerRequest): object {
  return req instanceof StreamRequest ? (req.stream.session ?? req.stream) : (req as IncomingMessage).socket;
}

/** An HTTP/2 stream is destroyed at once when the client resets it; its 'close' event comes a tick later. */
function clientGone(req: ServerRequest): boolean {
  return req instanceof StreamRequest && req.stream.destroyed;
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `p`, unless the call is cancelled first (then CANCELLED). */
function raceCancel(p: Promise<void>, cancel: Cancel): Promise<void> {
  return new Promise((resolve, reject) => {
    const off = cancel.on(() => reject(new CallError(Code.CANCELLED, "call aborted")));
    p.then(() => {
      off();
      resolve();
    });
  });
}

/**
 * limits.streamIdleTimeout: a call whose stream carries nothing either way
 * for `ms` ends. The stream's (HTTP/2) or socket's (HTTP/1.1) own timer,
 * which every read and write restarts.
 */
function watchIdle(req: ServerRequest, res: ServerResponseLike, ms: number, abortWith: (s: Status) => void): void {
  const fire = () =>
    abortWith({
      code: Code.DEADLINE_EXCEEDED,
      message: `nothing sent either way for ${ms} ms (limits.streamIdleTimeout)`,
      details: [],
    });
  if (req instanceof StreamRequest) req.stream.setTimeout(ms, fire);
  else (res as ServerResponse).setTimeout(ms, fire);
}

/** Refuses a call before it starts (the overload guard), asking the client to come back after `pushbackMs`. */
function refuse(
  protocol: InboundProtocol,
  req: ServerRequest,
  res: ServerResponseLike,
  status: Status,
  pushbackMs: number,
): void {
  closeIfRequestUnfinished(req, res);
  const sink = protocol.sink(req, res);
  void sink.headers({ "retry-after": String(Math.ceil(pushbackMs / 1000)) });
  void sink.end(status, { "grpc-retry-pushback-ms": String(pushbackMs) });
  dropUnreadRequest(req, res);
}

/**
 * Hands the committed attempt's events to the client. Every wait (the next
 * event, a client that is not reading) races the call's cancel, so a
 * deadline or a client that left ends the call at once, whatever the
 * upstream is doing; except the first, which runs the attempts: the policy
 * room settles it as soon as the cancel fires (docs/DESIGN.md, "The hot
 * path"), and a unary answer read whole needs no other.
 */
async function forward(
  events: ResponseEvents,
  sink: ResponseSink,
  t: Transcoder | undefined,
  cancel: Cancel,
  beforeEnd: () => void,
  rec: CallRecord | undefined,
): Promise<void> {
  // Made at the first wait that needs it: a unary answer never does.
  let race: CancelRace | undefined;
  let first = true;
  try {
    for (;;) {
      // An event already in hand (a unary answer read whole) is handed on
      // without an async step: the unary lane's gain (docs/DESIGN.md).
      let ev = events.ready?.();
      if (ev === undefined) {
        const r = await (first ? events.next() : (race ??= new CancelRace(cancel)).race(events.next()));
        first = false;
        if (r.done) return;
        ev = r.value;
      }
      // Whatever the attempts ended with, a call that was cancelled ends with why.
      if (cancel.cancelled) throw new CallError(Code.CANCELLED, "call aborted");
      if (ev.type === "end") {
        beforeEnd();
        if (rec) rec.code = ev.status.code;
      }
      const w = deliver(ev, sink, t, rec);
      if (w) await (race ??= new CancelRace(cancel)).race(w);
      if (ev.type === "end") return;
    }
  } finally {
    race?.off();
    // Releases the attempt (and its upstream stream) if the call ended early.
    if (cancel.cancelled) void events.return?.().catch(() => {});
  }
}

/** Races waits against a call's cancel: they reject with CANCELLED once it fires. */
class CancelRace {
  private readonly aborted: Promise<never>;
  readonly off: () => void;

  constructor(cancel: Cancel) {
    let off: () => void = ignore;
    this.aborted = new Promise<never>((_, reject) => {
      // Calls end normally far more often than not: no error built for them.
      off = cancel.on(() => reject(new CallError(Code.CANCELLED, "call aborted")));
    });
    this.aborted.catch(ignore);
    this.off = off;
  }

  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.aborted]);
  }
}

/** Hands one event to the client; a promise while the client is not reading. */
function deliver(
  ev: ResponseEvent,
  sink: ResponseSink,
  t: Transcoder | undefined,
  rec: CallRecord | undefined,
): Promise<void> | void {
  switch (ev.type) {
    case "headers":
      return sink.headers(ev.metadata);
    case "message":
      if (t) {
        const data = t(ev.data);
        if (rec) rec.messageOut(data.length);
        return sink.message(data);
      }
      if (rec) rec.messageOut(ev.data.length);
      return sink.message(ev.data, ev.frame);
    case "end":
      return sink.end(ev.status, ev.trailers);
  }
}
