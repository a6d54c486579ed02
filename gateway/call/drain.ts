/** What drained() needs of a writable: a stream, or a response that forwards its events. */
export interface Events {
  on(event: string, fn: () => void): unknown;
  off(event: string, fn: () => void): unknown;
}

/**
 * Resolves when a writable that refused a write can take more: 'drain', or
 * 'close'/'error' (nothing more will be written). Every listener goes once
 * one fires; racing two events.once() calls leaves the loser attached, which
 * on a long stream piles up listeners (MaxListenersExceededWarning) until the
 * stream closes.
 */
export function drained(stream: Events): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off("drain", done);
      stream.off("close", done);
      stream.off("error", done);
      resolve();
    };
    stream.on("drain", done);
    stream.on("close", done);
    stream.on("error", done);
  });
}
