/** The end of any iteration: shared, so ending one allocates nothing. */
export const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/**
 * `fn` over each value of `src` (a class: docs/DESIGN.md, "The hot path").
 * `onError` sees a failure of the source (or of `fn`) before it is rethrown.
 */
export function mapIterable<T, U>(
  src: AsyncIterable<T>,
  fn: (t: T) => U,
  onError?: (err: unknown) => void,
): AsyncIterableIterator<U> {
  return new Mapped(src[Symbol.asyncIterator](), fn, onError);
}

class Mapped<T, U> implements AsyncIterableIterator<U> {
  constructor(
    private readonly src: AsyncIterator<T>,
    private readonly fn: (t: T) => U,
    private readonly onError: ((err: unknown) => void) | undefined,
  ) {}

  next(): Promise<IteratorResult<U>> {
    return this.src.next().then(
      (r) => {
        if (r.done) return r as IteratorResult<U>;
        try {
          return { value: this.fn(r.value), done: false };
        } catch (err) {
          this.onError?.(err);
          throw err;
        }
      },
      (err: unknown) => {
        this.onError?.(err);
        throw err;
      },
    );
  }

  async return(): Promise<IteratorResult<U>> {
    await this.src.return?.();
    return DONE;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<U> {
    return this;
  }
}

/** Reads a body to its end so the connection or stream can be reused. */
export async function drain(src: AsyncIterable<unknown>): Promise<void> {
  try {
    for await (const _ of src) {
      // discard
    }
  } catch {
    // the body was going away anyway
  }
}

/**
 * The items of a list that arrives whole, later (a unary answer read in one
 * exchange), as an iterator: one await for the list, none per item beyond
 * the iterator protocol's own.
 */
export class ListIterator<T> implements AsyncIterableIterator<T> {
  private items: readonly T[] | undefined;
  private i = 0;

  /** The whole list, for a reader that takes it at once (policy/attempt.ts). */
  constructor(readonly list: Promise<readonly T[]>) {}

  async next(): Promise<IteratorResult<T>> {
    const items = (this.items ??= await this.list);
    if (this.i >= items.length) return DONE;
    return { value: items[this.i++] as T, done: false };
  }

  async return(): Promise<IteratorResult<T>> {
    this.close();
    return DONE;
  }

  /** return(), without a promise for a caller that needs none. */
  close(): void {
    this.i = Infinity;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
