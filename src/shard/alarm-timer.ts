// The shard's alarm as a cache of MIN(next deadline) (docs/design.md): every mutation re-arms it to the
// earliest deadline in the shard, or to now when claimable work is waiting. Only the shard sets its
// alarm, so the time last set or read is kept here and re-arming needs no storage round trip.

import type { DispatchPolicy } from "./config";
import type { ShardDb } from "./db";
import { inFlight } from "./sql/claim";
import { nextWakeAt } from "./sql/dispatch";

export class AlarmTimer {
  /** Set when a request asked for an immediate wake while the alarm handler was awaiting I/O. */
  private wakeRequested = false;
  /**
   * When a flow-control key held back by its rate opens again, as the latest alarm run found (its
   * rows do not say: the start log is per key, with no index). Kept in memory: after a restart the
   * waiting jobs are still looked at within WAITING_RECHECK_MS (dispatch.ts), and the first alarm
   * run finds it again.
   */
  private rateWakeAt: number | null = null;
  /** The alarm as last set or read (undefined: not known yet). */
  private alarmAt: number | null | undefined = undefined;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly db: ShardDb,
    private readonly policy: DispatchPolicy,
    private readonly clock: () => number,
    /** INDEX_FLUSH_DELAY_MS: when the new rows' index copy is due (nextWakeAt). */
    private readonly indexDelayMs: number,
  ) {}

  /** The alarm handler has started: a fired alarm is spent (the runtime keeps none while it runs). */
  fired(): void {
    this.wakeRequested = false;
    this.alarmAt = null;
  }

  /** The alarm run found a key that opens again at `at` (or none: null). */
  wakeBy(at: number | null): void {
    this.rateWakeAt = at;
  }

  /**
   * The alarm handler's closing re-arm, exact. A release that arrived while the handler awaited
   * send or D1 asked for an immediate wake; the exact re-arm must not drop it.
   */
  async afterAlarm(more: boolean): Promise<void> {
    await this.rearm(more || this.wakeRequested, true);
  }

  /**
   * Sets the alarm to the earliest deadline, or to now when claimable work is waiting. Outside the
   * alarm handler an earlier alarm is kept: waking early is harmless (the handler recomputes
   * everything and re-arms exactly), while moving an alarm later could undo another request's
   * "wake at once" (a release that freed pool units).
   */
  async rearm(immediately = false, exact = false): Promise<void> {
    const now = this.clock();
    if (immediately) this.wakeRequested = true;
    const windowFull = inFlight(this.db) >= this.policy.window;
    const next =
      immediately && !windowFull
        ? now
        : this.withRateWake(nextWakeAt(this.db, now, windowFull, this.indexDelayMs), now);
    this.alarmAt ??= await this.storage.getAlarm();
    const current = this.alarmAt;
    if (!exact && current !== null && (next === null || current <= next)) return;
    if (next === null) {
      if (current !== null) await this.write(null);
    } else if (current !== next) {
      await this.write(next);
    }
  }

  /**
   * After a change whose new deadlines all lie at or after `earliest` (a plain job's creation:
   * submitting.ts wakeFloor): every other deadline is already at or after the alarm, since every change
   * re-arms, so an alarm set at or before `earliest` still is the earliest, and nothing is read or
   * written; otherwise this is rearm(). Issue 16: no re-arm when the deadline cannot move earlier.
   */
  async rearmFrom(earliest: number): Promise<void> {
    const current = this.alarmAt;
    if (current !== undefined && current !== null && current <= earliest) return;
    await this.rearm();
  }

  /** The earlier of `next` and a key's reopening still ahead. */
  private withRateWake(next: number | null, now: number): number | null {
    const at = this.rateWakeAt;
    if (at === null || at <= now) return next;
    return next === null ? at : Math.min(next, at);
  }

  /** Sets or deletes the alarm; the cache is unknown until the write has succeeded. */
  private async write(at: number | null): Promise<void> {
    this.alarmAt = undefined;
    if (at === null) await this.storage.deleteAlarm();
    else await this.storage.setAlarm(at);
    this.alarmAt = at;
  }
}
