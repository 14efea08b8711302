// Keeps a running attempt alive on its shard while the executor works. The shard gives up an attempt
// whose heartbeats stop (its consumer died) within HEARTBEAT_TIMEOUT_SECONDS, whatever its timeout.
// The first beat goes out only after one interval, so an attempt that finishes sooner costs no RPC.
import { log } from "../log";

export type BeatAnswer = { ok: true } | { ok: false; reason: string };

/** The two timer calls the heartbeat needs; tests pass a fake one and move time by hand. */
export interface HeartbeatTimer {
  set(fn: () => unknown, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimer: HeartbeatTimer = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface Heartbeat {
  /** Stops beating; a beat already in flight is not followed by another, and its refusal is not logged. */
  stop(): void;
}

/**
 * Calls `beat` every `intervalMs` (measured from the end of the previous beat, so beats never
 * overlap) until stopped. A beat that throws is logged and the next one still goes: a failed
 * heartbeat never fails the attempt. A refused beat (the attempt was cancelled, timed out or
 * superseded) ends the heartbeat, since the shard no longer waits for this attempt.
 */
export function startHeartbeat(opts: {
  intervalMs: number;
  beat: () => Promise<BeatAnswer>;
  timer?: HeartbeatTimer;
  /** What the log events name: the job, user and attempt. */
  fields?: Record<string, unknown>;
}): Heartbeat {
  const timer = opts.timer ?? realTimer;
  let stopped = false;
  let pending: unknown = null;
  const schedule = () => {
    pending = timer.set(tick, opts.intervalMs);
  };
  const tick = async () => {
    pending = null;
    if (stopped) return;
    try {
      const answer = await opts.beat();
      // Stopped while the beat was in flight: the attempt's report was accepted meanwhile, so a
      // refusal ("finished", or the next attempt's "stale") is what a normal finish looks like.
      if (stopped) return;
      if (!answer.ok) {
        stopped = true;
        log("heartbeat_refused", { ...opts.fields, reason: answer.reason });
        return;
      }
    } catch (err) {
      log("heartbeat_failed", { ...opts.fields, error: err });
    }
    if (!stopped) schedule();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      if (pending !== null) timer.clear(pending);
      pending = null;
    },
  };
}
