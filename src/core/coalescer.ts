// A group commit for sends: items handed in while a flush is in flight wait for it to end and then go
// out together in the next one, so concurrent callers share a flush instead of each making their own.
// A caller whose items arrive with no flush in flight is flushed at once (after a microtask), so a lone
// caller waits for its own flush only; under load each caller waits for at most the flush in flight
// and then its own.
//
// Invariants: every item handed in is passed to exactly one flush, in the order handed in; flushes
// never overlap; each caller's promise settles when the flush carrying its items has (with its error,
// if it threw: every caller of that flush sees it, and the next flush still runs).

export class Coalescer<T> {
  private waiting: T[] = [];
  /** The flush the items in `waiting` will go out in, once `running` has ended. */
  private next: Promise<void> | undefined;
  /** The last flush started (settled or not); never rejects. */
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly flush: (items: T[]) => Promise<void>) {}

  /** Hands in `items`; resolves when the flush that carries them has ended. */
  add(items: readonly T[]): Promise<void> {
    this.waiting.push(...items);
    if (this.next) return this.next;
    const next = this.running.then(() => {
      const batch = this.waiting;
      this.waiting = [];
      this.next = undefined;
      return this.flush(batch);
    });
    this.next = next;
    this.running = next.catch(() => undefined);
    return next;
  }
}
