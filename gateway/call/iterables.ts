export async function* mapIterable<T, U>(src: AsyncIterable<T>, fn: (t: T) => U | Promise<U>): AsyncGenerator<U> {
  for await (const v of src) yield await fn(v);
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
