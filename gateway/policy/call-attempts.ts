import { DONE } from "../call/iterables.js";
import type { CallHead, Message, ResponseEvent } from "../call/call.js";
import { Code, CallError } from "../call/status.js";
import { firstValue } from "../call/metadata.js";
import type { Cancel } from "../call/cancel.js";
import type { Deadline } from "../call/deadline.js";
import { type RequestMessages, type ResponseEvents, isWhole } from "../protocol/contract.js";
import type { Cluster } from "../cluster/cluster.js";
import type { Endpoint } from "../cluster/endpoint.js";
import { Attempt, type AttemptInput, type Lookahead } from "./attempt.js";
import type { CommittedEvents } from "./committed-events.js";
import type { ClusterPolicy } from "./cluster-policy.js";
import { ReplayBuffer } from "./replay-buffer.js";
import { retryBackoffMs } from "./backoff.js";
import { parsePushback } from "./pushback.js";
import type { AttemptKind, CallRecord } from "../observe/observer.js";

export interface CallPolicyInput {
  cluster: Cluster;
  policy: ClusterPolicy;
  head: CallHead;
  /** Streamed, or read whole (the unary lane); every attempt reads them again. */
  messages: RequestMessages;
  deadline: Deadline | undefined;
  cancel: Cancel;
  maxBytes: number;
  /** The method may be repeated: proto idempotency_level or config. */
  safe: boolean;
  /** The call's record when something observes calls (docs/DESIGN.md, "Observation"). */
  observed?: CallRecord | undefined;
}

/** Never-left failures (connect refused, breaker open) are retried up to this many tries even without a retry policy. */
const MIN_TRANSPARENT_ATTEMPTS = 3;

/**
 * Runs one call against a cluster with gRPC A6 semantics: retries or hedges
 * until an attempt commits, within one deadline and the retry budget, and
 * yields the committed attempt's events.
 */
export function runCall(input: CallPolicyInput): ResponseEvents {
  const m = input.messages;
  const replay: Replay = isWhole(m) ? new WholeRequest(m) : new ReplayBuffer(m, input.policy.retry.maxReplayBytes);
  return new CallEvents(input, replay);
}

/** What every attempt reads the request from: a ReplayBuffer, or a request read whole. */
interface Replay {
  readonly replayable: boolean;
  reader(): RequestMessages;
}

/** A request read whole: every attempt sends the same messages. */
class WholeRequest implements Replay {
  readonly replayable = true;

  constructor(private readonly messages: readonly Message[]) {}

  reader(): RequestMessages {
    return this.messages;
  }
}

/** Where a call's attempts came to: an attempt it committed to (and its held events), or just a final status. */
type Outcome =
  { attempt: Attempt; held: ResponseEvent[]; end?: undefined } | { attempt?: undefined; end: ResponseEvent };

/** Runs the attempts; `settle` takes where they came to (one promise step for both: docs/DESIGN.md, "The hot path"). */
function attempts<T>(input: CallPolicyInput, replay: Replay, settle: (o: Outcome) => T | PromiseLike<T>): Promise<T> {
  input.policy.budget.recordRequest();
  if (input.policy.hedging && input.safe) return runHedged(input, replay).then(settle);
  return new Retries(input, replay, settle).attempt(1, "first");
}

/** Events, some of which may be in hand already. */
type Inner = AsyncIterator<ResponseEvent> & { ready?(): ResponseEvent | undefined };

/** The events of whichever attempt the call committed to (a class: docs/DESIGN.md, "The hot path"). */
class CallEvents implements ResponseEvents {
  private inner: Inner | undefined;
  private closed = false;

  constructor(
    private readonly input: CallPolicyInput,
    private readonly replay: Replay,
  ) {}

  ready(): ResponseEvent | undefined {
    return this.closed ? undefined : this.inner?.ready?.();
  }

  next(): Promise<IteratorResult<ResponseEvent>> {
    if (this.closed) return Promise.resolve(DONE);
    // The attempts run here, in this call's one async step (docs/DESIGN.md, "The hot path").
    if (!this.inner) return attempts(this.input, this.replay, (o) => this.first(o));
    const ev = this.inner.ready?.();
    return ev === undefined ? this.inner.next() : Promise.resolve({ value: ev, done: false });
  }

  /** The first event of where the attempts came to: usually in hand already (held at the commit point). */
  private first(o: Outcome): IteratorResult<ResponseEvent> | Promise<IteratorResult<ResponseEvent>> {
    const inner: Inner = (this.inner = o.attempt ? this.committed(o.attempt, o.held) : endWith(o.end));
    const ev = inner.ready?.();
    return ev === undefined ? inner.next() : { value: ev, done: false };
  }

  /** The committed attempt's events. */
  private committed(attempt: Attempt, held: ResponseEvent[]): CommittedEvents {
    // Time to the first message (or to an OK without one) is what a hedge
    // would race against; kept only where a hedge will read it.
    const { policy, head, safe } = this.input;
    if (!policy.recordsLatency || !safe) return attempt.rest(held, noop);
    const window = policy.latencyWindow(head.path);
    return attempt.rest(held, () => window.record(attempt.latencyMs()));
  }

  async return(): Promise<IteratorResult<ResponseEvent>> {
    this.closed = true;
    await this.inner?.return?.();
    return DONE;
  }

  [Symbol.asyncIterator](): ResponseEvents {
    return this;
  }
}

function noop(): void {}

/** A final status the call ends with, without an attempt to read from. */
function endWith(ev: ResponseEvent): AsyncIterator<ResponseEvent> {
  let sent = false;
  return {
    next: () => {
      if (sent) return Promise.resolve(DONE);
      sent = true;
      return Promise.resolve({ value: ev, done: false });
    },
  };
}

/**
 * Attempts one after another, each after the last failed and may be
 * retried. Promise steps, not an async loop: a call that commits on its
 * first attempt takes one step here (docs/DESIGN.md, "The hot path").
 */
class Retries<T> {
  // Made at the first retry: most calls never need it.
  private tried: Set<Endpoint> | undefined;
  private last: Endpoint | undefined;
  private readonly hash: number | undefined;
  private readonly retryable: (code: Code) => boolean;

  constructor(
    private readonly input: CallPolicyInput,
    private readonly replay: Replay,
    private readonly settle: (o: Outcome) => T | PromiseLike<T>,
  ) {
    const p = input.policy.retry;
    this.retryable = (code) => p.enabled && input.safe && p.retryableStatusCodes.includes(code);
    this.hash = input.cluster.callHash(input.head);
  }

  /** Attempt `n`, and the ones after it if it fails and may be retried. */
  attempt(n: number, kind: AttemptKind): Promise<T> {
    const { input, replay } = this;
    let attempt: Attempt;
    try {
      // No attempt starts once the call is over (deadline, client gone).
      if (input.cancel.cancelled) throw new CallError(Code.CANCELLED, "call ended before the next attempt");
      if (this.last) (this.tried ??= new Set()).add(this.last);
      const ep = input.cluster.pick(this.tried, this.hash);
      if (!ep) throw new CallError(Code.UNAVAILABLE, input.cluster.unavailableMessage());
      this.last = ep;
      if (n > 1) input.policy.rates.retried();
      attempt = new Attempt(ep, attemptInput(input, replay, n, this.retryable, kind));
    } catch (err) {
      return Promise.reject(err);
    }
    return attempt.lookahead.then((la) =>
      la.kind === "commit" ? this.settle({ attempt, held: la.events }) : this.after(la, n),
    );
  }

  private after(la: Extract<Lookahead, { kind: "failed" }>, n: number): T | PromiseLike<T> {
    const delay = retryDelay(this.input, la, n, this.replay);
    if (delay === undefined) return this.settle({ end: { type: "end", status: la.status, trailers: la.trailers } });
    const kind: AttemptKind = la.neverLeft ? "transparent" : "retry";
    return sleep(delay, this.input.cancel).then(() => this.attempt(n + 1, kind));
  }
}

/** undefined = do not retry; else the backoff before the next attempt. */
function retryDelay(
  input: CallPolicyInput,
  la: Extract<Lookahead, { kind: "failed" }>,
  n: number,
  replay: Replay,
): number | undefined {
  const p = input.policy.retry;
  if (input.cancel.cancelled || !replay.replayable) return undefined;
  if (input.deadline?.expired()) return undefined;
  if (la.neverLeft) {
    // Nothing reached an upstream, so repeating is safe for any method.
    return n < Math.max(p.enabled ? p.maxAttempts : 1, MIN_TRANSPARENT_ATTEMPTS) ? 0 : undefined;
  }
  if (!p.enabled || !input.safe || n >= p.maxAttempts || !p.retryableStatusCodes.includes(la.status.code))
    return undefined;
  const pushback = parsePushback(firstValue(la.trailers["grpc-retry-pushback-ms"]));
  if (!pushback.retry) return undefined;
  if (!input.policy.budget.tryAcquire()) {
    input.observed?.budgetExhausted();
    return undefined;
  }
  return pushback.delayMs ?? retryBackoffMs(n, p);
}

async function runHedged(input: CallPolicyInput, replay: Replay): Promise<Outcome> {
  const { cluster, policy } = input;
  const h = policy.hedging!;
  const nonFatal = (code: Code) => h.nonFatalStatusCodes.includes(code);
  const tried = new Set<Endpoint>();
  const hash = cluster.callHash(input.head);
  const live = new Map<Attempt, Promise<[Attempt, Lookahead]>>();
  let started = 0;
  let exhausted = false;
  let lastFailure: Extract<Lookahead, { kind: "failed" }> | undefined;

  const launch = (first: boolean): boolean => {
    if (started >= h.maxAttempts || !replay.replayable || input.cancel.cancelled) return false;
    // Hedges go to distinct endpoints; a call's first attempt may go anywhere.
    const ep = first ? cluster.pick(undefined, hash) : cluster.pickUntried(tried, hash);
    if (!ep) return false;
    if (!first && !policy.budget.tryAcquire()) {
      input.observed?.budgetExhausted();
      return false;
    }
    tried.add(ep);
    if (!first) policy.rates.hedged();
    started++;
    const a = new Attempt(ep, attemptInput(input, replay, started, nonFatal, first ? "first" : "hedge"));
    live.set(
      a,
      a.lookahead.then((la) => [a, la] as [Attempt, Lookahead]),
    );
    return true;
  };

  if (!launch(true)) throw new CallError(Code.UNAVAILABLE, cluster.unavailableMessage());
  const delay = hedgingDelay(input);
  try {
    for (;;) {
      const timer = !exhausted && started < h.maxAttempts ? sleepUnlessCancelled(delay, input.cancel) : undefined;
      const next = await Promise.race([...live.values(), ...(timer ? [timer.promise.then(() => undefined)] : [])]);
      timer?.cancel();
      if (next === undefined) {
        // No distinct endpoint or no budget left: the attempts in flight are all there will be.
        if (!launch(false)) exhausted = true;
        continue;
      }
      const [attempt, la] = next;
      live.delete(attempt);
      if (la.kind === "commit") {
        attempt.observed?.hedge("won");
        for (const other of live.keys()) {
          other.observed?.hedge("lost");
          other.abandon();
        }
        live.clear();
        return { attempt, held: la.events };
      }
      lastFailure = la;
      // A6: a non-fatal status sends the next hedge at once.
      if (!nonFatal(la.status.code) && !la.neverLeft) break;
      if (!launch(false) && live.size === 0) break;
    }
  } finally {
    for (const other of live.keys()) other.cancel();
  }
  // Every attempt failed: the last failure is the call's status.
  if (!lastFailure) throw new CallError(Code.UNAVAILABLE, cluster.unavailableMessage());
  return { end: { type: "end", status: lastFailure.status, trailers: lastFailure.trailers } };
}

/** Written out, not spread (docs/DESIGN.md, "The hot path"). */
function attemptInput(
  input: CallPolicyInput,
  replay: Replay,
  number: number,
  retryable: (code: Code) => boolean,
  kind: AttemptKind,
): AttemptInput {
  return {
    protocol: input.cluster.protocol,
    compression: input.cluster.config.compression,
    head: input.head,
    messages: replay.reader(),
    deadline: input.deadline,
    callCancel: input.cancel,
    maxBytes: input.maxBytes,
    number,
    retryable,
    kind,
    observed: input.observed,
  };
}

function hedgingDelay(input: CallPolicyInput): number {
  const h = input.policy.hedging!;
  if (h.hedgingDelayMs !== "auto") return h.hedgingDelayMs;
  const p = input.policy.latencyWindow(input.head.path).percentile(h.percentile);
  return Math.max(h.minDelayMs, p ?? h.minDelayMs * 10);
}

function sleep(ms: number, cancel: Cancel): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return sleepUnlessCancelled(ms, cancel).promise;
}

function sleepUnlessCancelled(ms: number, callCancel: Cancel): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let off: (() => void) | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    off = callCancel.on(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  return {
    promise,
    cancel() {
      clearTimeout(timer);
      off?.();
    },
  };
}
