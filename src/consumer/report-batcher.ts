// Group commit of attempt reports to one shard. A report joins its shard's waiting ones; when no
// finishMany to that shard is in flight they go at once, otherwise they wait for the one in flight to
// return and then all go together in the next finishMany. So a lone report waits for nothing, and a
// burst of reports costs one request (after the first's) however many it holds. "At once" is at the
// end of the current microtask (no timer, no I/O): reports made ready by the same event (a batch of
// attempts that end together) go in the same request rather than the first alone.
//
// With a linger (the consumer's, REPORT_LINGER_MS), a report whose shard still has attempts of the
// same consumer batch running (began() counts them) waits for them, at most the linger after the first
// waiting report: attempts that end a few milliseconds apart (http calls) then share one request instead
// of one each. The last of them to report sends at once; a lone attempt never waits.
//
// Each report is answered on its own: the shard fences each alone, so one refusal leaves the others'
// answers as they are. A request that fails is tried again (REPORT_TRIES in all, the same group) and
// then fails only the reports it carried: their messages are retried, and the reports that joined
// meanwhile go in the next request.
import type { FinishReport, FinishResult, TaskShardRpc } from "../shard/rpc";
import { withTries } from "./tries";

/** Tries of one request: a lost report costs the work again (after the shard's deadline). */
export const REPORT_TRIES = 3;

interface Waiting {
  report: FinishReport;
  resolve(result: FinishResult): void;
  reject(error: unknown): void;
}

export class ReportBatcher {
  private waiting: Waiting[] = [];
  /** A request is in flight, or about to go at the end of this microtask. */
  private busy = false;
  /** Attempts that began (began()) and have not reported yet. */
  private running = 0;
  /** The linger's end, while reports wait for the running attempts. */
  private lingering: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly shard: Pick<TaskShardRpc, "finishMany">,
    private readonly tries = REPORT_TRIES,
    private readonly lingerMs = 0,
  ) {}

  /** An attempt of this shard began: its report will come (or the linger ends the wait for it). */
  began(): void {
    this.running += 1;
  }

  /** An attempt that began will not report (the shard ends it itself): stop waiting for it. */
  abandoned(): void {
    this.running = Math.max(0, this.running - 1);
    if (this.running === 0 && this.lingering !== undefined) this.go();
  }

  /** The shard's answer to this report; rejects when its request failed every try. */
  report(report: FinishReport): Promise<FinishResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ report, resolve, reject });
      this.running = Math.max(0, this.running - 1);
      if (this.busy) return;
      if (this.running > 0 && this.lingerMs > 0) {
        this.lingering ??= setTimeout(() => this.go(), this.lingerMs);
        return;
      }
      this.busy = true;
      queueMicrotask(() => this.go());
    });
  }

  /** The waiting reports go now (the linger ended, or nothing is left to wait for). */
  private go(): void {
    if (this.lingering !== undefined) clearTimeout(this.lingering);
    this.lingering = undefined;
    if (this.waiting.length === 0) {
      this.busy = false;
      return;
    }
    this.busy = true;
    void this.send();
  }

  /** Sends everything waiting in one request; when it returns, whatever joined meanwhile goes next. */
  private async send(): Promise<void> {
    const group = this.waiting;
    this.waiting = [];
    try {
      const results = await withTries(this.tries, () => this.shard.finishMany(group.map((w) => w.report)));
      group.forEach((w, i) => {
        const result = results[i];
        if (result) w.resolve(result);
        else w.reject(new Error(`finishMany answered ${results.length} results for ${group.length} reports`));
      });
    } catch (err) {
      for (const w of group) w.reject(err);
    }
    if (this.waiting.length > 0) void this.send();
    else this.busy = false;
  }
}
