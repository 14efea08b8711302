// A group commit for writes that each commit on their own: callers wait for the next turn of the event
// loop, and every caller that waited for the same turn goes on in it, in the order they came, one after
// another within one run of the microtask queue. In a Durable Object their synchronous SQLite writes then
// fall into one implicit transaction, which workerd commits once, in an event it queues after the first
// write (ActorSqlite::onWrite): one commit and one fsync for the lot instead of one each.
//
// Invariants: every caller's promise resolves exactly once, at the first turn after it called; callers of
// one turn resume in the order they called; a caller after a turn has begun waits for the next one.

/** Runs `fn` at the next turn of the event loop (a timer of 0 ms by default). */
export type NextTurn = (fn: () => void) => void;

const timerTurn: NextTurn = (fn) => {
  setTimeout(fn, 0);
};

export class TurnGate {
  private waiting: Promise<void> | undefined;

  constructor(private readonly nextTurn: NextTurn = timerTurn) {}

  /** Resolves at the next turn, with every other caller of that turn. */
  wait(): Promise<void> {
    if (this.waiting) return this.waiting;
    const turn = new Promise<void>((resolve) => {
      this.nextTurn(() => {
        this.waiting = undefined;
        resolve();
      });
    });
    this.waiting = turn;
    return turn;
  }
}
