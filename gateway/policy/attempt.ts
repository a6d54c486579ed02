import { DONE } from "../call/iterables.js";
import type { CallHead, ResponseEvent } from "../call/call.js";
import { Code, type Status, toStatus } from "../call/status.js";
import type { Metadata } from "../call/metadata.js";
import type { Cancel } from "../call/cancel.js";
import { callUpstream } from "../protocol/outbound.js";
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
  messages: AsyncIterable<Uint8Array>;
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
  private readonly events: AsyncGenerator<ResponseEvent>;
  private readonly started = performance.now();
  private finalCode: Code | undefined;
  private settled = false;
  private answered = false;
  readonly lookahead: Promise<Lookahead>;

  constructor(endpoint: Endpoint, private readonly input: AttemptInput) {
    this.endpoint = endpoint;
    this.stop = input.callCancel.child();
    endpoint.inflight++;
    const metadata = input.number > 1 ? { ...input.head.metadata, "grpc-previous-rpc-attempts": String(input.number - 1) } : input.head.metadata;
    this.events = callUpstream(input.cluster.protocol, {
      head: { ...input.head, metadata },
      transport: endpoint.transport,
      messages: input.messages,
      timeoutMs: input.deadline === undefined ? undefined : Math.max(1, input.deadline - performance.now()),
      cancel: this.stop,
      maxBytes: input.maxBytes,
      label: endpoint.label,
    });
    this.lookahead = this.look();
  }

  /**
   * Reads up to the commit point. The breaker guards exactly this part: a
   * failure before the commit (connection refused, reset, a trailers-only
   * UNAVAILABLE) counts against the endpoint; what a committed stream does
   * later does not.
   */
  private async look(): Promise<Lookahead> {
    try {
      return await this.endpoint.breaker.run(
        () => this.readToCommit(),
        (la) => {
          const code = la.kind === "failed" ? la.status.code : finalCode(la.events);
          return code !== undefined && isTransportFailure(code);
        },
      );
    } catch (err) {
      const neverLeft = err instanceof UpstreamError && err.neverLeft;
      return this.fail(toStatus(err), {}, neverLeft);
    }
  }

  private async readToCommit(): Promise<Lookahead> {
    const held: ResponseEvent[] = [];
    for (;;) {
      const r = await this.events.next();
      if (!this.answered) {
        this.answered = true;
        this.endpoint.ewma.observe(performance.now() - this.started);
      }
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
    private readonly events: AsyncGenerator<ResponseEvent>,
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
        r = await this.events.next();
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
    if (!this.answered && (ev.type === "message" || (ev.type === "end" && ev.status.code === Code.OK))) {
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

function finalCode(events: ResponseEvent[]): Code | undefined {
  const last = events.at(-1);
  return last?.type === "end" ? last.status.code : undefined;
}
