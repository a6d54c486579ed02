import { DONE } from "../call/iterables.js";
import type { ResponseEvent } from "../call/call.js";
import { Code, toStatus } from "../call/status.js";
import type { ResponseEvents } from "../protocol/contract.js";

/** What the committed events tell their attempt (Attempt, in attempt.ts). */
export interface CommittingAttempt {
  /** The attempt ended with `code` (once). */
  ended(code: Code): void;
  /** The call let go of the attempt before its end. */
  cancel(): void;
}

/** The committed attempt's events, bookkept as they pass (a class: docs/DESIGN.md, "The hot path"). */
export class CommittedEvents implements AsyncIterator<ResponseEvent> {
  private i = 0;
  private over = false;
  private answered = false;

  constructor(
    private readonly attempt: CommittingAttempt,
    private readonly events: ResponseEvents,
    private readonly held: ResponseEvent[],
    private readonly onAnswer: () => void,
  ) {}

  /**
   * The next event when it is already in hand (held at the commit point,
   * as a unary answer read whole all is), without an async step; else
   * undefined, and next() waits for it.
   */
  ready(): ResponseEvent | undefined {
    if (this.over || this.i >= this.held.length) return undefined;
    return this.pass(this.held[this.i++]);
  }

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
    return { value: this.pass(ev), done: false };
  }

  /** The bookkeeping every event gets on its way out. */
  private pass(ev: ResponseEvent): ResponseEvent {
    if (!this.answered && answers(ev)) {
      this.answered = true;
      this.onAnswer();
    }
    if (ev.type === "end") {
      this.over = true;
      this.attempt.ended(ev.status.code);
    }
    return ev;
  }

  async return(): Promise<IteratorResult<ResponseEvent>> {
    if (!this.over) {
      this.over = true;
      this.attempt.cancel();
    }
    return DONE;
  }
}

/** A message, or an OK without one: what a hedge races to. */
function answers(ev: ResponseEvent): boolean {
  return ev.type === "message" || (ev.type === "end" && ev.status.code === Code.OK);
}
