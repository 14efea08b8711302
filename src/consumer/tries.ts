// A report to a shard after work is done: losing it would cost the work again (after the shard's
// deadline), so it is tried a few times before the message is left to the queue's retry.

/** Calls `fn` up to `tries` times until it does not throw; rethrows the last error. */
export async function withTries<T>(tries: number, fn: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries) throw err;
    }
  }
}
