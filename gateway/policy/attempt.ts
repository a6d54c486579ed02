import { DONE } from "../call/iterables.js";
import type { CallHead, Message, ResponseEvent } from "../call/call.js";
import { Code, type Status, toStatus } from "../call/status.js";
import { type Metadata, copyMetadata } from "../call/metadata.js";
import type { Cancel } from "../call/cancel.js";
import { type UnaryOutboundCall, callUpstream, callUpstreamUnary } from "../protocol/outbound.js";
import { UpstreamError } from "../cluster/transport.js";
import { isTransportFailure } from "../cluster/breaker.js";
import type { Cluster } from "../cluster/cluster.js";
import type { Endpoint } from "../cluster/endpoint.js";

/**
 * What one attempt showed before the call had to commit to it: either the
 * events to hand the client (headers and a first message, or a final
 * status worth keeping), or a failure a retry or hedge may still hide.
 */
export type Lookahead =
  | { kind: "commit"; events: ResponseEvent[] }
  | { kind: "failed"; status: Status; trailers: Metadata; neverLeft: boolean };

export interface AttemptInput {
  cluster: Cluster;
  head: CallHead;
  /** Streamed, or read whole (the unary lane): then the answer is read whole too. */
  messages: AsyncIterable<Uint8Array> | readonly Message[];
  /** Absolute performance.now() deadline, if any. */
  deadline: number | undefined;
  /** The call's cancel; the attempt's own is its child. */
  callCancel: Cancel;
  maxBytes: number;
  /** 1-based; sent upstream as grpc-previous-rpc-attempts. */
  number: number;
  /** Which final statuses this attempt may hand back for another try. */
  retryable: (code: Code) => boolean;
}

/** One try of a call against one endpoint, with the endpoint's bookkeeping. */
export class Attempt {
  readonly endpoint: Endpoint;
  private readonly stop: Cancel;
  private readonly events: AsyncGenerator<ResponseEvent> | undefined;
  /** The unary lane's request and call, sent once the breaker lets the attempt through. */
  private readonly unary: UnaryOutboundCall | undefined;
  private readonly started = performance.now();
  private finalCode: Code | undefined;
  private settled = false;
  private answered = false;
  readonly lookahead: Promise<Lookahead>;

  constructor(endpoint: Endpoint, private readonly input: AttemptInput) {
    this.endpoint = endpoint;
    this.stop = input.callCancel.child();
    endpoint.inflight++;
    let head = input.head;
    if (input.number > 1) {
      const metadata = copyMetadata(head.metadata);
      metadata["grpc-previous-rpc-attempts"] = String(input.number - 1);
      head = { ...head, metadata };
    }
    const timeoutMs = input.deadline === undefined ? undefined : Math.max(1, input.deadline - performance.now());
    const { transport, label } = endpoint;
    const m = input.messages;
    // Written out, not spread from a shared object: see copyMetadata.
    // Neither sends anything yet: an open breaker must stop the request.
    if (isWhole(m)) this.unary = { head, transport, timeoutMs, cancel: this.stop, maxBytes: input.maxBytes, label, request: m };
    else this.events = callUpstream(input.cluster.protocol, { head, transport, timeoutMs, cancel: this.stop, maxBytes: input.maxBytes, label, messages: m });
    this.lookahead = this.look();
  }

  /**
   * Reads up to the commit point. The breaker guards exactly this part: a
   * failure before the commit (connection refused, reset, a trailers-only
   * UNAVAILABLE) counts against the endpoint; what a committed stream does
   * later does not.
   */
  private look(): Promise<Lookahead> {
    return this.endpoint.breaker.run(() => this.readToCommit(), countsAsFailure).then(undefined, (err: unknown) => {
      const neverLeft = err instanceof UpstreamError && err.neverLeft;
      return this.fail(toStatus(err), {}, neverLeft);
    });
  }

  private readToCommit(): Promise<Lookahead> {
    const u = this.unary;
    if (u) return callUpstreamUnary(this.input.cluster.protocol, u).then((events) => this.commitWhole(events));
    return this.readStreamToCommit(this.events!);
  }

  private async readStreamToCommit(events: AsyncGenerator<ResponseEvent>): Promise<Lookahead> {
    const held: ResponseEvent[] = [];
    for (;;) {
      const r = await events.next();
      this.markAnswered();
      if (r.done) return this.fail({ code: Code.INTERNAL, message: `${this.endpoint.label} ended the call without a status`, details: [] }, {}, false);
      const ev = r.value;
      if (ev.type === "headers") {
        // Headers alone do not commit: a replica that dies before its first
        // message can still be retried (issue 3, scenario 8).
        held.push(ev);
        continue;
      }
      if (ev.type === "end" && ev.status.code !== Code.OK && this.input.retryable(ev.status.code)) {
        return this.fail(ev.status, ev.trailers, false);
      }
      held.push(ev);
      if (ev.type === "end") this.finish(ev.status.code);
      return { kind: "commit", events: held };
    }
  }

  /**
   * The unary lane's commit point, with the whole answer in hand: the same
   * decision readToCommit makes at the first message or status.
   */
  private commitWhole(events: ResponseEvent[]): Lookahead {
    this.markAnswered();
    const first = firstAnswer(events);
    if (first?.type === "end" && first.status.code !== Code.OK && this.input.retryable(first.status.code)) {
      return this.fail(first.status, first.trailers, false);
    }
    const last = events[events.length - 1];
    if (last?.type !== "end") return this.fail({ code: Code.INTERNAL, message: `${this.endpoint.label} ended the call without a status`, details: [] }, {}, false);
    this.finish(last.status.code);
    return { kind: "commit", events };
  }

  private markAnswered(): void {
    if (this.answered) return;
    this.answered = true;
    this.endpoint.ewma.observe(performance.now() - this.started);
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
  rest(held: ResponseEvent[], onAnswer: () => void): AsyncIterator<ResponseEvent> {
    return new CommittedEvents(this, this.events, held, onAnswer);
  }

  /**
   * The unary lane's counterpart of rest(): every event was held at the
   * commit, so the bookkeeping CommittedEvents does as they pass is done now.
   */
  all(held: ResponseEvent[], onAnswer: () => void): ResponseEvent[] {
    if (held.some(answers)) onAnswer();
    // commitWhole has recorded the end already; this only releases the stream.
    this.cancel();
    return held;
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
   * A hedge that lost the race without a word from its endpoint counts
   * against that endpoint, as a per-try timeout does in Envoy: otherwise a
   * hung endpoint would go on drawing a share of every call forever.
   */
  abandon(): void {
    if (!this.settled && !this.answered) this.finish(Code.DEADLINE_EXCEEDED);
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
    // INTERNAL from some paths), the endpoint did nothing wrong.
    if (this.stop.cancelled) code = Code.CANCELLED;
    this.finalCode = code;
    this.endpoint.inflight--;
    // Cancels are the gateway's or the client's doing, not the endpoint's.
    if (code !== Code.CANCELLED) this.input.cluster.outliers.record(this.endpoint.outlier, !isTransportFailure(code));
  }

  get code(): Code | undefined {
    return this.finalCode;
  }
}

/**
 * A class, not an async generator: the events of every call pass through
 * here, and a generator layer costs a promise and a queue entry per event.
 */
class CommittedEvents implements AsyncIterator<ResponseEvent> {
  private i = 0;
  private over = false;
  private answered = false;

  constructor(
    private readonly attempt: Attempt,
    private readonly events: AsyncGenerator<ResponseEvent> | undefined,
    private readonly held: ResponseEvent[],
    private readonly onAnswer: () => void,
  ) {}

  async next(): Promise<IteratorResult<ResponseEvent>> {
    if (this.over) return DONE;
    let ev: ResponseEvent;
    if (this.i < this.held.length) ev = this.held[this.i++];
    else {
      let r: IteratorResult<ResponseEvent>;
      try {
        // Past the held events only on the streaming path, which has events.
        r = await this.events!.next();
      } catch (err) {
        this.over = true;
        this.attempt.ended(toStatus(err).code);
        throw err;
      }
      if (r.done) {
        this.over = true;
        this.attempt.cancel();
        return r;
      }
      ev = r.value;
    }
    if (!this.answered && answers(ev)) {
      this.answered = true;
      this.onAnswer();
    }
    if (ev.type === "end") {
      this.over = true;
      this.attempt.ended(ev.status.code);
    }
    return { value: ev, done: false };
  }

  async return(): Promise<IteratorResult<ResponseEvent>> {
    if (!this.over) {
      this.over = true;
      this.attempt.cancel();
    }
    return DONE;
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

function firstAnswer(events: ResponseEvent[]): ResponseEvent | undefined {
  for (const ev of events) if (ev.type !== "headers") return ev;
  return undefined;
}

/** A message, or an OK without one: what a hedge races to. */
function answers(ev: ResponseEvent): boolean {
  return ev.type === "message" || (ev.type === "end" && ev.status.code === Code.OK);
}

function isWhole(m: AsyncIterable<Uint8Array> | readonly Message[]): m is readonly Message[] {
  return Array.isArray(m);
}
