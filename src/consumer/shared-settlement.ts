// One queue message that carries several attempts (a DispatchGroup, src/dispatch/message.ts) is acked
// or retried once, after each attempt has settled: acked when every one was, retried (once, at the
// longest delay asked) when any was. A retried group comes back whole; the attempts that ran are
// refused then as duplicates by their fence (begin accepts one queued → running per attempt) and acked,
// so only those that did not get through run.
type Settle = Pick<Message<unknown>, "ack" | "retry">;

export class SharedSettlement implements Settle {
  private pending: number;
  private retryAsked: QueueRetryOptions | undefined;

  constructor(
    private readonly message: Settle,
    parts: number,
  ) {
    this.pending = parts;
  }

  ack(): void {
    this.settled();
  }

  retry(options?: QueueRetryOptions): void {
    const delay = Math.max(this.retryAsked?.delaySeconds ?? 0, options?.delaySeconds ?? 0);
    this.retryAsked = { ...this.retryAsked, ...options, delaySeconds: delay };
    this.settled();
  }

  private settled(): void {
    this.pending -= 1;
    if (this.pending > 0) return;
    if (this.retryAsked) this.message.retry(this.retryAsked);
    else this.message.ack();
  }
}
