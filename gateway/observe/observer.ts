import { Code } from "../call/status.js";
import type { CallHead, MethodKind } from "../call/call.js";

// The observation seam (docs/DESIGN.md, "Observation"): the call path reports
// what happens to one CallRecord per call, and metrics, access logs and
// traces hang off it as sinks. With nothing observing there is no Observer,
// no record, and every hook on the call path is a check of `undefined`.

/** The inbound protocol as metrics and logs name it. */
export type WireProtocol = "grpc" | "grpc_web" | "connect";

/** Why an attempt was made: the call's first, a retry after a failure, a hedge, or a retry of one that never left the gateway. */
export type AttemptKind = "first" | "retry" | "hedge" | "transparent";

/** How a hedge ended: the call committed to it, to another attempt, or ended before either. */
export type HedgeOutcome = "won" | "lost" | "cancelled";

/** The service and method label of calls the gateway has no name for: a scanner must not mint label values. */
export const UNKNOWN = "unknown";

/** A live count a sink hands a record, so a long stream's messages show before it ends. */
export interface Count {
  value: number;
}

const CODE_NAMES: readonly string[] = Array.from({ length: 17 }, (_, i) => Code[i]);

/** The status code's name (`UNAVAILABLE`), as metrics and logs give it. */
export function codeName(code: Code): string {
  return CODE_NAMES[code] ?? "UNKNOWN";
}

/** What each sink implements; every hook is optional. */
export interface CallSink {
  /** The request was read: what is called is known (`call.service` is "unknown" for methods without a name). */
  started?(call: CallRecord, head: CallHead | undefined): void;
  attemptStarted?(call: CallRecord, attempt: AttemptRecord): void;
  attemptEnded?(call: CallRecord, attempt: AttemptRecord): void;
  hedgeEnded?(call: CallRecord, attempt: AttemptRecord, outcome: HedgeOutcome): void;
  /** A retry or hedge was not made because the cluster's retry budget was spent. */
  budgetExhausted?(call: CallRecord): void;
  ended?(call: CallRecord): void;
}

/** The socket fields a record reads for the peer. */
export interface PeerSocket {
  remoteAddress?: string;
  remotePort?: number;
}

/**
 * The seam: fans each hook out to the sinks that implement it. One per
 * gateway configuration of sinks; the proxy reads it once per call.
 */
export class Observer {
  private readonly onStarted: CallSink[];
  private readonly onAttemptStarted: CallSink[];
  private readonly onAttemptEnded: CallSink[];
  private readonly onHedgeEnded: CallSink[];
  private readonly onBudgetExhausted: CallSink[];
  private readonly onEnded: CallSink[];

  constructor(
    readonly sinks: readonly CallSink[],
    /** A sink reads the peer (logs, traces): the record takes it from the socket at once, while it is still there. */
    readonly wantsPeer = false,
  ) {
    this.onStarted = sinks.filter((s) => s.started);
    this.onAttemptStarted = sinks.filter((s) => s.attemptStarted);
    this.onAttemptEnded = sinks.filter((s) => s.attemptEnded);
    this.onHedgeEnded = sinks.filter((s) => s.hedgeEnded);
    this.onBudgetExhausted = sinks.filter((s) => s.budgetExhausted);
    this.onEnded = sinks.filter((s) => s.ended);
  }

  /** A call arrived (before its request is read). */
  open(protocol: WireProtocol, socket: PeerSocket | undefined): CallRecord {
    return new CallRecord(this, protocol, socket);
  }

  /** @internal CallRecord's and AttemptRecord's way to the sinks. */
  emitStarted(c: CallRecord, head: CallHead | undefined): void {
    const s = this.onStarted;
    for (let i = 0; i < s.length; i++) s[i].started!(c, head);
  }
  emitAttemptStarted(c: CallRecord, a: AttemptRecord): void {
    const s = this.onAttemptStarted;
    for (let i = 0; i < s.length; i++) s[i].attemptStarted!(c, a);
  }
  emitAttemptEnded(c: CallRecord, a: AttemptRecord): void {
    const s = this.onAttemptEnded;
    for (let i = 0; i < s.length; i++) s[i].attemptEnded!(c, a);
  }
  emitHedgeEnded(c: CallRecord, a: AttemptRecord, o: HedgeOutcome): void {
    const s = this.onHedgeEnded;
    for (let i = 0; i < s.length; i++) s[i].hedgeEnded!(c, a, o);
  }
  emitBudgetExhausted(c: CallRecord): void {
    const s = this.onBudgetExhausted;
    for (let i = 0; i < s.length; i++) s[i].budgetExhausted!(c);
  }
  emitEnded(c: CallRecord): void {
    const s = this.onEnded;
    for (let i = 0; i < s.length; i++) s[i].ended!(c);
  }
}

/**
 * One call, as observers see it: made only when something observes, and
 * written by the call path through its methods (fields, not getters: the
 * hot path writes them). Sinks keep their own per-call state in the slots.
 */
export class CallRecord {
  readonly startedAt = performance.now();
  readonly peerAddress: string | undefined;
  readonly peerPort: number | undefined;
  /** "/pkg.Service/Method" as the client sent it; "" when the request could not be read. */
  path = "";
  service = UNKNOWN;
  method = UNKNOWN;
  kind: MethodKind | undefined = undefined;
  /** The cluster the call was routed to, once planned. */
  cluster: string | undefined = undefined;
  /** The status the client got: the call path sets it as it answers. */
  code: Code = Code.UNKNOWN;
  durationMs = 0;
  received = 0;
  sent = 0;
  /** Message bytes (uncompressed payloads), as the client sent and got them. */
  bytesIn = 0;
  bytesOut = 0;
  attempts = 0;
  /** Endpoint addresses in attempt order (repeats kept); undefined until the first attempt. */
  endpoints: string[] | undefined = undefined;
  /** The trace id, when the call is traced. */
  traceId: string | undefined = undefined;
  /** Live message counts a sink hands in at start. */
  receivedCount: Count | undefined = undefined;
  sentCount: Count | undefined = undefined;
  /** The metrics sink's per-call state. */
  metricsSlot: unknown = undefined;
  /** The tracing sink's per-call state (the server span). */
  traceSlot: unknown = undefined;
  private begun = false;
  private over = false;

  constructor(
    readonly observer: Observer,
    readonly protocol: WireProtocol,
    socket: PeerSocket | undefined,
  ) {
    this.peerAddress = socket?.remoteAddress;
    this.peerPort = socket?.remotePort;
  }

  /**
   * The request was read. `named`: "method" when the gateway knows the
   * method by name (descriptors, a route naming it), "service" when it
   * knows only the service (a route naming that), else nothing is named.
   */
  begin(head: CallHead, named: "method" | "service" | undefined, kind: MethodKind | undefined): void {
    if (this.begun) return;
    this.begun = true;
    this.path = head.path;
    this.kind = kind;
    if (named !== undefined) {
      this.service = head.service;
      if (named === "method") this.method = head.method;
    }
    this.observer.emitStarted(this, head);
  }

  messageIn(bytes: number): void {
    this.received++;
    this.bytesIn += bytes;
    if (this.receivedCount) this.receivedCount.value++;
  }

  messageOut(bytes: number): void {
    this.sent++;
    this.bytesOut += bytes;
    if (this.sentCount) this.sentCount.value++;
  }

  /** An attempt starts on `endpoint` (host:port); `previous`: attempts before it. */
  attempt(endpoint: string, kind: AttemptKind, previous: number): AttemptRecord {
    this.attempts++;
    (this.endpoints ??= []).push(endpoint);
    const a = new AttemptRecord(this, endpoint, kind, previous);
    this.observer.emitAttemptStarted(this, a);
    return a;
  }

  budgetExhausted(): void {
    this.observer.emitBudgetExhausted(this);
  }

  /**
   * The call is over and the client has its status, set in `code` (once;
   * a call whose request could not be read is reported as begun, unnamed).
   */
  end(): void {
    if (this.over) return;
    this.over = true;
    if (!this.begun) {
      this.begun = true;
      this.observer.emitStarted(this, undefined);
    }
    this.durationMs = performance.now() - this.startedAt;
    this.observer.emitEnded(this);
  }
}

/** One upstream attempt of a call. */
export class AttemptRecord {
  readonly startedAt = performance.now();
  /** How the attempt ended; UNKNOWN until then. */
  code: Code = Code.UNKNOWN;
  durationMs = 0;
  outcome: HedgeOutcome | undefined = undefined;
  /** W3C trace context to send upstream (the attempt's span), when traced. */
  traceparent: string | undefined = undefined;
  tracestate: string | undefined = undefined;
  /** The tracing sink's per-attempt state (the client span). */
  traceSlot: unknown = undefined;
  private over = false;

  constructor(
    readonly call: CallRecord,
    readonly endpoint: string,
    readonly kind: AttemptKind,
    readonly previous: number,
  ) {}

  /** A hedge's outcome, once it is decided (first attempts and retries have none). */
  hedge(outcome: HedgeOutcome): void {
    if (this.kind !== "hedge" || this.outcome !== undefined) return;
    this.outcome = outcome;
    this.call.observer.emitHedgeEnded(this.call, this, outcome);
  }

  /** The attempt is over, with `code` (once). A hedge nobody decided about lost, unless it was cancelled. */
  end(code: Code): void {
    if (this.over) return;
    this.over = true;
    this.code = code;
    this.durationMs = performance.now() - this.startedAt;
    this.hedge(code === Code.CANCELLED ? "cancelled" : "lost");
    this.call.observer.emitAttemptEnded(this.call, this);
  }
}
