// A hand-driven timer for code that takes a HeartbeatTimer: time moves only when a test calls
// advance(), and advance() waits for whatever the fired callbacks started (an async heartbeat).
import type { HeartbeatTimer } from "../../src/consumer/heartbeat";

export class FakeTimer implements HeartbeatTimer {
  now = 0;
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => unknown }>();

  set(fn: () => unknown, ms: number): unknown {
    const id = ++this.seq;
    this.due.set(id, { at: this.now + ms, fn });
    return id;
  }

  clear(handle: unknown): void {
    this.due.delete(handle as number);
  }

  /** Callbacks waiting to fire. */
  get pending(): number {
    return this.due.size;
  }

  /** Moves time forward by `ms`, firing every callback that comes due, in order, and awaiting each. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    // Bounded: each round fires at least one callback, and a callback can only schedule later ones.
    for (let round = 0; round < 10_000; round++) {
      const next = [...this.due.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      const [id, t] = next;
      this.due.delete(id);
      this.now = t.at;
      await t.fn();
    }
    this.now = end;
  }
}
