import { ListIterator } from "../call/iterables.js";
import type { CallHead, ResponseEvent } from "../call/call.js";
import { Code, CallError, type Status, toStatus } from "../call/status.js";
import { type Metadata, copyMetadata } from "../call/metadata.js";
import type { Cancel } from "../call/cancel.js";
import type { Deadline } from "../call/deadline.js";
import type { UpstreamCompression, UpstreamProtocol } from "../config/types.js";
import type { OutboundCall, RequestMessages, ResponseEvents } from "../protocol/contract.js";
import { callUpstream } from "../protocol/outbound.js";
import { UpstreamError } from "../transport/contract.js";
import { isTransportFailure } from "../cluster/breaker.js";
import type { Endpoint } from "../cluster/endpoint.js";
import type { AttemptKind, AttemptRecord, CallRecord } from "../observe/observer.js";
import { CommittedEvents } from "./committed-events.js";

/**
 * What one attempt showed before the call had to commit to it: either the
 * events to hand the client (headers and a first message, or a final
 * status worth keeping), or a failure a retry or hedge may still hide.
 */
export type Lookahead =
  | { kind: "commit"; events: ResponseEvent[] }
  | { kind: "failed"; status: Status; trailers: Metadata; neverLeft: boolean };

export interface AttemptInput {
  protocol: UpstreamProtocol;
  compression: UpstreamCompression;
  head: CallHead;
  messages: RequestMessages;
  deadline: Deadline | undefined;
  /** The call's cancel; the attempt's own is its child. */
  callCancel: Cancel;
  maxBytes: number;
  /** 1-based; sent upstream as grpc-previous-rpc-attempts. */
  number: number;
  /** Which final statuses this attempt may hand back for another try. */
  retryable: (code: Code) => boolean;
  /** Why this attempt is made, for observers. */
  kind: AttemptKind;
  /** The call's record when something observes calls (docs/DESIGN.md, "Observation"). */
  observed: CallRecord | undefined;
}

/**
 * A hedge race loser counts against its endpoint only once the endpoint has
 * answered nothing (no attempt's first event) for this long: then it looks
 * hung rather than slow. Losing a race is otherwise what the slowest few
 * percent of a healthy endpoint's attempts do by design under
 * `hedgingDelay: auto`, and a stall of a few tens of ms (GC, a busy CPU)
 * makes every attempt in flight on it lose at once; counting those ejected
 * healthy replicas until no distinct endpoint was left to hedge to.
 */
export const HUNG_AFTER_MS = 1_000;

/** One try of a call against one endpoint, with the endpoint's bookkeeping. */
export class Attempt {
  readonly endpoint: Endpoint;
  private readonly stop: Cancel;
  /** The call to make, once the breaker lets the attempt through. */
  private readonly call: OutboundCall;
  private events: ResponseEvents | undefined;
  private readonly started = performance.now();
  private finalCode: Code | undefined;
  private settled = false;
  private answered = false;
  readonly lookahead: Promise<Lookahead>;
  /** This attempt's record, when something observes calls. */
  readonly observed: AttemptRecord | undefined;

  constructor(
    endpoint: Endpoint,
    private readonly input: AttemptInput,
  ) {
    this.endpoint = endpoint;
    this.stop = input.callCancel.child();
    endpoint.enter();
    const observed = (this.observed = input.observed?.attempt(endpoint.address, input.kind, input.number - 1));
    let head = input.head;
    if (input.number > 1 || observed?.traceparent !== undefined) {
      const metadata = copyMetadata(head.metadata);
      if (input.number > 1) metadata["grpc-previous-rpc-attempts"] = String(input.number - 1);
      // A traced attempt tells its upstream its own span, in place of the client's.
      if (observed?.traceparent !== undefined) {
        metadata.traceparent = observed.traceparent;
        if (observed.tracestate) metadata.tracestate = observed.tracestate;
        else delete metadata.tracestate;
      }
      head = { ...head, metadata };
    }
    // Written out, not spread (docs/DESIGN.md, "The hot path").
    const { transport, label } = endpoint;
    this.call = {
      head,
      transport,
      messages: input.messages,
      deadline: input.deadline,
      cancel: this.stop,
      maxBytes: input.maxBytes,
      compression: input.compression,
      label,
    };
    this.lookahead = this.look();
  }

  /**
   * Reads up to the commit point. The breaker guards exactly this part: a
   * failure before the commit (connection refused, reset, a trailers-only
   * UNAVAILABLE) counts against the endpoint; what a committed stream does
   * later does not. Nothing is sent before the breaker lets the attempt
   * through: an open breaker must stop the request.
   */
  private look(): Promise<Lookahead> {
    return this.endpoint.breaker.runChecked(
      (check) => this.readToCommit(check),
      countsAsFailure,
      (err: unknown) => {
        const neverLeft = err instanceof UpstreamError && err.neverLeft;
        return this.fail(toStatus(err), {}, neverLeft);
      },
    );
  }

  /** Reads up to the commit point; `check` is the breaker's look at the result (EndpointBreaker.runChecked). */
  private readToCommit(check: (la: Lookahead) => Lookahead): Promise<Lookahead> {
    const events = (this.events = callUpstream(this.input.protocol, this.call));
    const held: ResponseEvent[] = [];
    // An answer read whole (the unary lane) is taken in one step and looked
    // through without further awaits; its exchange settles as soon as the
    // stop fires (HttpTransport.exchange), so nothing races it
    // (docs/DESIGN.md, "The hot path").
    if (events instanceof ListIterator) {
      return (events.list as Promise<readonly ResponseEvent[]>).then(
        (list) => {
          events.close(); // read here, all of it: the committed rest reads only what is held
          return check(this.commitList(list, held));
        },
        (err: unknown) => {
          throw this.stop.cancelled && !this.settled ? this.stoppedError() : err;
        },
      );
    }
    return this.readStreamToCommit(events, held).then(check);
  }

  /**
   * A streamed answer up to its commit point. The read races the attempt's
   * stop: an upstream whose connection is wedged (a handshake that never
   * ends, a session nghttp2 gave up on) never settles its stream, and the
   * call's deadline must still end the attempt, and free its place in the
   * endpoint's books, on time. One race for the whole read, not one per
   * event (docs/DESIGN.md, "The hot path"): a read left behind settles when
   * the stop resets its stream.
   */
  private async readStreamToCommit(events: ResponseEvents, held: ResponseEvent[]): Promise<Lookahead> {
    let off: () => void = noop;
    const stopped = new Promise<never>((_, reject) => {
      // Not when the attempt stopped itself having settled (fail() stops it
      // on its way out with the failure in hand): that result stands.
      off = this.stop.on(() => {
        if (!this.settled) reject(STOPPED);
      });
    });
    stopped.catch(noop);
    try {
      return await Promise.race([this.commitPoint(events, held), stopped]);
    } catch (err) {
      // The error is made only here: fail() stops every failed attempt too.
      throw err === STOPPED ? this.stoppedError() : err;
    } finally {
      off();
    }
  }

  private async commitPoint(events: ResponseEvents, held: ResponseEvent[]): Promise<Lookahead> {
    for (;;) {
      const r = await events.next();
      if (this.stop.cancelled) throw STOPPED;
      this.markAnswered();
      if (r.done) return this.noStatus();
      const la = this.look1(r.value, held);
      if (la) return la;
    }
  }

  /** commitPoint over a whole answer in hand: every event is held, so the rest needs no reads. */
  private commitList(list: readonly ResponseEvent[], held: ResponseEvent[]): Lookahead {
    if (this.stop.cancelled) throw STOPPED;
    this.markAnswered();
    let committed: Lookahead | undefined;
    for (const ev of list) {
      if (committed) held.push(ev);
      else committed = this.look1(ev, held);
    }
    return committed ?? this.noStatus();
  }

  /** One event up to the commit point: undefined while only headers came. */
  private look1(event: ResponseEvent, held: ResponseEvent[]): Lookahead | undefined {
    let ev = event;
    if (ev.type === "headers") {
      // Headers alone do not commit: a replica that dies before its first
      // message can still be retried (issue 3, scenario 8).
      held.push(ev);
      return undefined;
    }
    if (ev.type === "end" && ev.status.code === Code.OK && answersOnce(this.input.head)) ev = this.noAnswer(ev);
    if (ev.type === "end" && ev.status.code !== Code.OK && this.input.retryable(ev.status.code)) {
      return this.fail(ev.status, ev.trailers, false);
    }
    held.push(ev);
    if (ev.type === "end") this.finish(ev.status.code);
    return { kind: "commit", events: held };
  }

  private noStatus(): Lookahead {
    const message = `${this.endpoint.label} ended the call without a status`;
    return this.fail({ code: Code.INTERNAL, message, details: [] }, {}, false);
  }

  /** Why the attempt was stopped before its commit point: the call's deadline (the endpoint's doing, if it never said a word) or a cancel. */
  private stoppedError(): CallError {
    const d = this.input.deadline;
    if (d?.expired())
      return new CallError(Code.DEADLINE_EXCEEDED, `${this.endpoint.label} did not answer within the deadline`);
    return new CallError(Code.CANCELLED, `call to ${this.endpoint.label} cancelled`);
  }

  /**
   * Stopped by the call's deadline before the endpoint said a word: a
   * timeout, which counts against the endpoint as a per-try timeout does
   * in Envoy. Without this a wedged endpoint would look like a run of
   * harmless cancels and keep its share of calls.
   */
  private timedOut(): boolean {
    return !this.answered && this.input.deadline?.expired() === true;
  }

  /**
   * OK without a message, where the method answers exactly one: the
   * upstream broke the protocol (gRPC clients report it as INTERNAL too).
   * Passed on as OK it would be a success without an answer, an empty 200
   * to a Connect client.
   */
  private noAnswer(ev: ResponseEvent & { type: "end" }): ResponseEvent {
    const message = `${this.endpoint.label} answered OK without a response message to a ${this.input.head.kind} call (protocol error)`;
    return { type: "end", status: { code: Code.INTERNAL, message, details: [] }, trailers: ev.trailers };
  }

  private markAnswered(): void {
    if (this.answered) return;
    this.answered = true;
    this.endpoint.answered(performance.now() - this.started);
  }

  private fail(status: Status, trailers: Metadata, neverLeft: boolean): Lookahead {
    this.finish(status.code);
    this.stop.cancel();
    return { kind: "failed", status, trailers, neverLeft };
  }

  /**
   * The committed attempt's events, from the ones held at the commit point
   * on. `onAnswer` runs at the first message, or at an OK end without one.
   */
  rest(held: ResponseEvent[], onAnswer: () => void): CommittedEvents {
    return new CommittedEvents(this, this.events!, held, onAnswer);
  }

  /** For CommittedEvents: the attempt ended with `code` (once). */
  ended(code: Code): void {
    this.finish(code);
    this.cancel();
  }

  latencyMs(): number {
    return performance.now() - this.started;
  }

  /**
   * A hedge that lost the race without a word from an endpoint that has
   * been silent for HUNG_AFTER_MS counts against that endpoint, as a per-try
   * timeout does in Envoy: otherwise a hung endpoint would go on drawing a
   * share of every call forever. A loser on an endpoint that answers other
   * calls was merely slow this once, and is cancelled like any other.
   */
  abandon(): void {
    if (!this.settled && !this.answered && this.endpoint.silentFor(performance.now()) >= HUNG_AFTER_MS) {
      this.finish(Code.DEADLINE_EXCEEDED);
    }
    this.cancel();
  }

  cancel(): void {
    if (!this.settled) this.finish(Code.CANCELLED);
    this.stop.cancel();
  }

  /** Once per attempt: in-flight count, outlier detection. */
  private finish(code: Code): void {
    if (this.settled) return;
    this.settled = true;
    // Whatever status a call we cancelled ended with (a reset looks like
    // INTERNAL from some paths), the endpoint did nothing wrong, unless the
    // deadline stopped it while the endpoint kept silent.
    if (this.stop.cancelled) code = this.timedOut() ? Code.DEADLINE_EXCEEDED : Code.CANCELLED;
    this.finalCode = code;
    // Cancels are the gateway's or the client's doing, not the endpoint's.
    this.endpoint.leave(!isTransportFailure(code), code !== Code.CANCELLED);
    // The admin API's live per-endpoint stats.
    this.endpoint.stats.record(this.started, code);
    this.observed?.end(code);
  }

  get code(): Code | undefined {
    return this.finalCode;
  }
}

/** What the breaker counts: a failed attempt's code, or the status if it came before any message (held streaming events end there). */
function countsAsFailure(la: Lookahead): boolean {
  let code: Code | undefined;
  if (la.kind === "failed") code = la.status.code;
  else {
    const first = firstAnswer(la.events);
    code = first?.type === "end" ? first.status.code : undefined;
  }
  return code !== undefined && isTransportFailure(code);
}

function noop(): void {}

/** What the stop rejects a wait with, before readToCommit says why. */
const STOPPED = Symbol("attempt stopped");

/** Unary and client-streaming methods answer with exactly one message. */
function answersOnce(head: CallHead): boolean {
  return head.kind === "unary" || head.kind === "client_streaming";
}

function firstAnswer(events: ResponseEvent[]): ResponseEvent | undefined {
  for (const ev of events) if (ev.type !== "headers") return ev;
  return undefined;
}
