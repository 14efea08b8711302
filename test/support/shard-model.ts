// The reference model for test/integration/shard-model.test.ts: what one user's TaskShard should hold
// after each step, written from docs/architecture.md and docs/design.md rather than from the
// shard's code. Pure: no `cloudflare:*` imports; time is the model's virtual clock.
import { removalTime } from "../../src/core/removal-time";
import {
  type CandidateFlow,
  type CycleExpiry,
  type DueCandidate,
  expectedClaimOrder,
  type KeyUse,
} from "./claim-oracle";

export type { DueCandidate };

/** The settings the workers test project runs with (wrangler.toml [vars]). */
export const DISPATCH_DEADLINE_MS = 30_000;
export const LEASE_GRACE_MS = 10_000;
/** A running attempt with no begin or heartbeat for this long is given up, whatever its timeout. */
export const HEARTBEAT_TIMEOUT_MS = 30_000;
export const WINDOW = 50;
export const BATCH = 100;
export const AGING_MS = 1_000;
/** FINISHED_RETENTION_SECONDS: a finished job's deadline is its removal, this long after it finished. */
export const RETENTION_SECONDS = 604_800;
/** The removal time of a job finishing at `now`: on the retention's grid (src/core/removal-time.ts). */
const removalAt = (now: number) => removalTime(now, RETENTION_SECONDS);
/** A due job that cannot go out (its pool is full) is still looked at this often. */
export const WAITING_RECHECK_MS = 30_000;
/** The shard's randomness is fixed by setShardClock. */
export const RANDOM = 0.5;
const MAX_BACKOFF_MS = 24 * 60 * 60 * 1000;
/** Each consecutive dispatch miss doubles the next claim's deadline, up to 10 minutes. */
const dispatchDeadline = (misses: number) => Math.min(DISPATCH_DEADLINE_MS * 2 ** misses, 10 * 60 * 1000);

export type JobStatus = "scheduled" | "queued" | "running" | "paused" | "succeeded" | "failed" | "cancelled";
export type AttemptStatus = "running" | "succeeded" | "failed" | "timed_out" | "cancelled";
export const FINISHED: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];
export const UNFINISHED: readonly JobStatus[] = ["scheduled", "queued", "running", "paused"];

export interface MAttempt {
  number: number;
  occurrence: number;
  status: AttemptStatus;
}

export interface MJob {
  id: string;
  type: "noop" | "http";
  intervalSeconds: number | null;
  maxRetries: number;
  retryDelaySeconds: number;
  timeoutSeconds: number;
  /** expires_after_seconds: a due job this late when a claim would take it is failed as `expired`. */
  expiresAfterSeconds?: number | null;
  priority: number;
  resources: Record<string, number>;
  status: JobStatus;
  /** The fencing number of the latest claim (0 before the first). */
  attempt: number;
  /** Consecutive claims whose message did not begin in time: each doubles the next dispatch deadline. */
  misses?: number;
  /** When the running attempt began: its timeout bound is this + timeout + grace. */
  startedAt?: number;
  retries: number;
  occurrence: number;
  occurrenceAt: number;
  runs: number;
  runAt: number;
  deadline: number | null;
  attempts: MAttempt[];
  /** Paused while its attempt ran: that attempt still runs (reports accepted, lease enforced). */
  inFlight?: boolean;
  /** An extra occurrence (run now) is pending or running: afterwards the job returns to occurrenceAt. */
  extra?: boolean;
  /** A PATCH waiting for the attempt in flight to end. */
  pending?: ModelPatch;
  /** flow_control (the model's keys keep one set of limits each). */
  flow?: CandidateFlow | null;
  /** When each of its attempts began: its key's starts (flow control's rate counts begins). */
  begins?: number[];
  /** debounce (one-shot jobs) and when its first submit came. */
  debounce?: { key: string; delaySeconds: number; maxWaitSeconds: number | null } | null;
  debounceFirstAt?: number;
  /** Recurring jobs (docs/design.md "Recurring jobs: overlap and catch-up"); absent: skip, none. */
  overlap?: "skip" | "buffer_one" | "cancel_other";
  catchUp?: "none" | "one" | "all";
  catchUpWindowSeconds?: number;
  /** depends_on (one-shot jobs), what a failed or cancelled one does to it, and those not yet heard of. */
  dependsOn?: string[] | null;
  onDependencyFailure?: "fail" | "run";
  /** blocked_by: the dependencies it still waits on (null: none); kept when it fails by one. */
  blockedBy?: string[] | null;
  /** Its current occurrence failed with dependency_failed. */
  dependencyFailed?: boolean;
}

/** The fields the model's PATCH changes (none of them moves the schedule). */
export interface ModelPatch {
  priority?: number;
  maxRetries?: number;
  retryDelaySeconds?: number;
  timeoutSeconds?: number;
}

export interface Message {
  user_id: string;
  job_id: string;
  attempt: number;
}

export interface Model {
  userId: string;
  now: number;
  caps: Map<string, number>;
  jobs: MJob[];
  /** Every message a claim produced, in order. */
  sent: Message[];
  /** Occurrences failed as expired so far. */
  expired?: number;
  /** Attempts replaced by their job's next occurrence (overlap cancel_other) so far. */
  replaced?: number;
  /** What the model knows of dependencies: every occurrence that ended, and every job's wait. */
  deps: DependencyLog;
}

export const isFinished = (s: JobStatus) => FINISHED.includes(s);
/** Units are held from claim to the attempt's end: queued, running, or paused while that attempt runs. */
export const holdsUnits = (j: { status: JobStatus; deadline: number | null }) =>
  j.status === "queued" || j.status === "running" || (j.status === "paused" && j.deadline !== null);
/** An attempt has begun and not ended: the running job's, or the one a pause let finish. */
export const attemptRuns = (j: MJob) =>
  j.status === "running" || (j.status === "paused" && j.inFlight === true);
export const ofStatus = (m: Model, s: JobStatus) => m.jobs.filter((j) => j.status === s);

/** Backoff before retry `retry` (1-based): base × 2^(retry−1), equal jitter, random fixed at 0.5. */
export function backoffMs(baseSeconds: number, retry: number): number {
  const exp = Math.max(1, Math.round(Math.min(MAX_BACKOFF_MS, baseSeconds * 1000 * 2 ** (retry - 1))));
  return Math.min(exp, Math.ceil(exp / 2 + (RANDOM * exp) / 2));
}

/** The next slot on an interval grid anchored at `previous`: after it, and not before `now`. */
export function nextSlot(previous: number, seconds: number, now: number): number {
  const step = seconds * 1000;
  let at = previous + step;
  while (at < now) at += step;
  return at;
}

/** The latest slot of the grid anchored at `from` that is at most `t` (`from` itself when none later). */
export function latestSlot(from: number, seconds: number, t: number): number {
  const step = seconds * 1000;
  return from + Math.max(0, Math.floor((t - from) / step)) * step;
}

/** The first slot of the grid anchored at `from` strictly after `t` (never `from` itself). */
export function slotAfter(from: number, seconds: number, t: number): number {
  const step = seconds * 1000;
  let at = from + step;
  while (at <= t) at += step;
  return at;
}

/** How often each overlap and catch-up rule decided (the model test prints them: not vacuous). */
export const POLICY_STATS: Record<string, number> = {};
const decided = (rule: string) => {
  POLICY_STATS[rule] = (POLICY_STATS[rule] ?? 0) + 1;
};

/**
 * Where a recurring job goes when its occurrence is over at `now`, the attempt that ended having begun
 * at `begunAt` (now when none began). Slots in (occurrenceAt, begunAt] were missed before it started:
 * catch_up `all` runs the oldest of them within the window now, `one` runs once now (serving the latest
 * slot ≤ now). Slots in (begunAt, now] came due while it ran: overlap `buffer_one` (and `cancel_other`,
 * whose cancel the report beat) runs once now, serving the latest. Otherwise the next slot ≥ now.
 */
export function following(j: MJob, begunAt: number, now: number): { runAt: number; occurrenceAt: number } {
  const seconds = j.intervalSeconds ?? 0;
  const step = seconds * 1000;
  const occ = j.occurrenceAt;
  const began = Math.min(Math.max(begunAt, occ), now);
  if (j.catchUp === "all") {
    const from = now - (j.catchUpWindowSeconds ?? 3600) * 1000;
    const oldest = slotAfter(occ, seconds, Math.max(occ, from - 1));
    if (oldest <= began) {
      decided("settle.catch_up.all");
      return { runAt: now, occurrenceAt: oldest };
    }
  }
  if (j.catchUp === "one" && occ + step <= began) {
    decided("settle.catch_up.one");
    return { runAt: now, occurrenceAt: latestSlot(occ, seconds, now) };
  }
  if ((j.overlap ?? "skip") !== "skip") {
    const latest = latestSlot(occ, seconds, now);
    if (latest > occ && latest > began) {
      decided(`settle.overlap.${j.overlap}`);
      return { runAt: now, occurrenceAt: latest };
    }
  }
  const next = nextSlot(occ, seconds, now);
  return { runAt: next, occurrenceAt: next };
}

/**
 * overlap `cancel_other`: when the next occurrence replaces an attempt still queued or running: the
 * first slot after the attempt's due time (an extra run: the nominal slot it ran ahead of). Null for
 * other jobs.
 */
export function cutoffOf(j: MJob): number | null {
  if (j.overlap !== "cancel_other" || j.intervalSeconds === null) return null;
  if (j.extra && j.occurrenceAt > j.runAt) return j.occurrenceAt;
  return slotAfter(j.occurrenceAt, j.intervalSeconds, Math.max(j.occurrenceAt, j.runAt));
}

/** A queued or running job's deadline is never past its cutoff; a paused one's is its lease alone. */
export const capped = (j: MJob, deadline: number) =>
  j.status === "paused" ? deadline : Math.min(deadline, cutoffOf(j) ?? Number.POSITIVE_INFINITY);

/** Units held per pool: every queued or running job holds what it names. */
export function heldUnits(
  jobs: { status: JobStatus; deadline: number | null; resources: Record<string, number> }[],
) {
  const used = new Map<string, number>();
  for (const j of jobs.filter(holdsUnits))
    for (const [p, u] of Object.entries(j.resources)) used.set(p, (used.get(p) ?? 0) + u);
  return used;
}

/** Which due jobs a dispatch cycle at `now` takes, in order: the one claim oracle, at the shard's aging. */
export function claimOrder(
  jobs: DueCandidate[],
  caps: Map<string, number>,
  used: Map<string, number>,
  now: number,
  limit: number,
  keys: ReadonlyMap<string, KeyUse> = new Map(),
  expiry?: CycleExpiry,
): string[] {
  return expectedClaimOrder(jobs, caps, used, now, AGING_MS / 1000, limit, keys, expiry);
}

/**
 * Each flow-control key's use: its jobs holding a slot (as they hold units: claimed, running, or
 * running under a pause), those claimed and not begun, and every begin of its jobs.
 */
export function keyUses(
  jobs: {
    status: JobStatus;
    deadline: number | null;
    flow?: CandidateFlow | null;
    begins?: readonly number[];
  }[],
): Map<string, KeyUse> {
  const uses = new Map<string, KeyUse>();
  for (const j of jobs) {
    if (!j.flow) continue;
    const u = uses.get(j.flow.key) ?? { holders: 0, notBegun: 0, begins: [] };
    uses.set(j.flow.key, {
      holders: u.holders + (holdsUnits(j) ? 1 : 0),
      notBegun: u.notBegun + (j.status === "queued" ? 1 : 0),
      begins: [...u.begins, ...(j.begins ?? [])],
    });
  }
  return uses;
}

function currentAttempt(j: MJob): MAttempt {
  const a = j.attempts.find((x) => x.number === j.attempt);
  if (!a) throw new Error(`model: ${j.id} has no attempt ${j.attempt}`);
  return a;
}

/** A running attempt's timeout bound: no heartbeat keeps it alive past begin + timeout + grace. */
export const timeoutBound = (j: MJob) => (j.startedAt ?? 0) + j.timeoutSeconds * 1000 + LEASE_GRACE_MS;

/** After a sign of life (begin or heartbeat) the deadline is the heartbeat timeout away, within the bound. */
const livenessDeadline = (j: MJob, now: number) =>
  capped(j, Math.min(timeoutBound(j), now + HEARTBEAT_TIMEOUT_MS));

/** begin: a queued job's current attempt starts; it must show life again within the heartbeat timeout. */
export function beginJob(j: MJob, now: number): void {
  j.status = "running";
  j.misses = 0;
  j.startedAt = now;
  j.deadline = livenessDeadline(j, now);
  j.begins = [...(j.begins ?? []), now];
  j.attempts.push({ number: j.attempt, occurrence: j.occurrence, status: "running" });
}

/** heartbeat: the current attempt of a running job is alive at `now`. */
export function heartbeatJob(j: MJob, now: number): void {
  j.deadline = livenessDeadline(j, now);
}

/** Why a running attempt is given up at its deadline: its heartbeats stopped, or its timeout bound ran out. */
export const expiryKind = (j: MJob): "heartbeat" | "timeout" =>
  (j.deadline ?? 0) < timeoutBound(j) ? "heartbeat" : "timeout";

/**
 * The running attempt ends: a failure with retries left retries the occurrence after a backoff;
 * otherwise the occurrence is over, and a one-shot job is finished while an interval job moves to
 * its next slot with its retries reset.
 */
export function settleJob(m: Model, j: MJob, ok: boolean, now: number, timedOut = false): void {
  currentAttempt(j).status = ok ? "succeeded" : timedOut ? "timed_out" : "failed";
  // A PATCH that waited for this attempt applies to what follows it.
  applyPending(j);
  const paused = j.status === "paused";
  j.inFlight = false;
  if (!ok && j.retries < j.maxRetries) {
    j.retries += 1;
    j.runAt = now + backoffMs(j.retryDelaySeconds, j.retries);
    scheduleOrStayPaused(j, paused);
    return;
  }
  endOccurrence(m, j, ok, now, paused, j.startedAt);
}

/**
 * The occurrence is over: a one-shot job is finished, an interval job moves to its next slot (an
 * extra occurrence back to its nominal one), or stays paused when it was paused meanwhile. Either way
 * the jobs waiting on it hear how it ended.
 */
function endOccurrence(m: Model, j: MJob, ok: boolean, now: number, paused = false, begunAt = now): void {
  j.runs += 1;
  if (j.intervalSeconds === null) {
    j.status = ok ? "succeeded" : "failed";
    j.deadline = removalAt(now);
    occurrenceEnded(m, j.id, ok ? "succeeded" : "failed", now);
    return;
  }
  // An extra occurrence returns to the nominal one; otherwise as overlap and catch-up say.
  const next = j.extra ? { runAt: j.occurrenceAt, occurrenceAt: j.occurrenceAt } : following(j, begunAt, now);
  j.extra = false;
  j.retries = 0;
  j.occurrence += 1;
  j.occurrenceAt = next.occurrenceAt;
  j.runAt = next.runAt;
  scheduleOrStayPaused(j, paused);
  occurrenceEnded(m, j.id, ok ? "succeeded" : "failed", now);
}

function scheduleOrStayPaused(j: MJob, paused: boolean): void {
  j.status = paused ? "paused" : "scheduled";
  j.deadline = paused ? null : j.runAt;
}

function applyPending(j: MJob): void {
  if (j.pending) Object.assign(j, j.pending);
  j.pending = undefined;
}

/** cancel: finished as cancelled; the jobs waiting on it hear it failed. */
export function cancelJob(m: Model, j: MJob, now: number): void {
  if (attemptRuns(j)) currentAttempt(j).status = "cancelled";
  applyPending(j);
  j.inFlight = false;
  j.status = "cancelled";
  j.deadline = removalAt(now);
  occurrenceEnded(m, j.id, "failed", now);
}

/** pause: nothing more is dispatched; a queued dispatch is withdrawn (fence + 1), a running attempt runs on. */
export function pauseJob(j: MJob): void {
  if (j.status === "queued") {
    j.attempt += 1;
    applyPending(j);
  }
  if (j.status === "running") j.inFlight = true;
  else if (j.status !== "paused") j.deadline = null;
  j.status = "paused";
}

/**
 * resume: running again if its attempt still runs; else its run_at (one-shot) or next slot from now,
 * due then unless a dependency still blocks it.
 */
export function resumeJob(j: MJob, now: number): void {
  if (j.status !== "paused") return;
  if (j.inFlight) {
    j.inFlight = false;
    j.status = "running";
    // Running again: a cancel_other job's next occurrence replaces the attempt when it comes due.
    if (j.deadline !== null) j.deadline = capped(j, j.deadline);
    return;
  }
  j.status = "scheduled";
  if (j.intervalSeconds === null) {
    j.runAt = Math.max(j.runAt, now);
  } else {
    const next = resumedSlot(j, j.intervalSeconds, now);
    if (j.retries > 0) j.occurrence += 1;
    j.retries = 0;
    j.extra = false;
    j.occurrenceAt = next.occurrenceAt;
    j.runAt = next.runAt;
  }
  j.deadline = dueTime(j);
}

/**
 * Where a recurring job resumes: slots in [occurrenceAt, now) were missed while paused. catch_up
 * `none`: the next slot ≥ now; `one`: once now, serving the latest slot ≤ now; `all`: the oldest
 * missed slot within the window now (the rest follow one by one as each ends).
 */
function resumedSlot(j: MJob, seconds: number, now: number): { runAt: number; occurrenceAt: number } {
  const occ = j.occurrenceAt;
  if (occ >= now) return { runAt: occ, occurrenceAt: occ };
  if (j.catchUp === "one") {
    decided("resume.catch_up.one");
    return { runAt: now, occurrenceAt: latestSlot(occ, seconds, now) };
  }
  if (j.catchUp === "all") {
    const from = now - (j.catchUpWindowSeconds ?? 3600) * 1000;
    const oldest = occ >= from ? occ : slotAfter(occ, seconds, from - 1);
    if (oldest < now) {
      decided("resume.catch_up.all");
      return { runAt: now, occurrenceAt: oldest };
    }
  }
  const next = nextSlot(occ, seconds, now);
  return { runAt: next, occurrenceAt: next };
}

/**
 * overlap `cancel_other` at the alarm: the attempt still queued or running when its cutoff came is
 * cancelled (fence + 1; recorded cancelled if it began; its units released) and the next occurrence is
 * due now, serving the latest slot ≤ now; the replaced occurrence counts as over.
 */
function replaceJob(j: MJob, cutoff: number, now: number): void {
  if (j.status === "running") currentAttempt(j).status = "cancelled";
  applyPending(j);
  j.attempt += 1;
  j.runs += 1;
  j.occurrence += 1;
  j.occurrenceAt = latestSlot(cutoff, j.intervalSeconds ?? 0, now);
  j.runAt = now;
  j.retries = 0;
  j.extra = false;
  j.inFlight = false;
  j.status = "scheduled";
  j.deadline = now;
}

/** run now, on a scheduled job (anything else is refused): an extra occurrence for a recurring one. */
export function runJob(j: MJob, now: number): void {
  if (j.intervalSeconds === null || j.retries > 0 || j.extra) j.runAt = Math.min(j.runAt, now);
  else if (j.runAt > now) {
    j.runAt = now;
    j.extra = true;
  }
  j.deadline = j.runAt;
}

/**
 * retry a failed or cancelled one-shot job: a new occurrence, due now, unless dependencies it had not
 * heard of yet (or the one that failed it) block it: it waits on them again, hearing at once of those
 * finished meanwhile.
 */
export function retryJob(m: Model, j: MJob, now: number): void {
  j.status = "scheduled";
  j.retries = 0;
  j.occurrence += 1;
  j.occurrenceAt = now;
  j.runAt = now;
  j.dependencyFailed = false;
  j.deadline = dueTime(j);
  // A debounced job retried runs as a plain one: it leaves its key (src/shard/sql/debounce.ts).
  j.debounce = null;
  j.debounceFirstAt = undefined;
  if (j.blockedBy) linkJob(m, j, now);
}

/** PATCH: waits for an attempt in flight (queued, running, paused while running), else applies now. */
export function patchJob(j: MJob, patch: ModelPatch): void {
  if (j.status === "queued" || attemptRuns(j)) j.pending = { ...j.pending, ...patch };
  else Object.assign(j, patch);
}

/**
 * One alarm at `m.now`: expired leases are timed out and settled, claims whose message never began
 * by the dispatch deadline are sent again (same attempt, deadline doubled), then due jobs are claimed
 * (attempt + 1, dispatch deadline). Returns the messages sent.
 */
export function fireAlarm(m: Model): Message[] {
  const now = m.now;
  // First, cancel_other: attempts whose next occurrence came due are replaced by it. A paused job's
  // attempt is not (nothing starts while paused): if its deadline was that cutoff, its lease goes on.
  for (const j of m.jobs) {
    const cutoff = cutoffOf(j);
    if (cutoff === null || cutoff > now || j.deadline === null || j.deadline > now) continue;
    if (j.status === "paused") {
      if (j.inFlight && j.deadline === cutoff)
        j.deadline = Math.min(timeoutBound(j), now + HEARTBEAT_TIMEOUT_MS);
    } else if (j.status === "queued" || j.status === "running") {
      replaceJob(j, cutoff, now);
      m.replaced = (m.replaced ?? 0) + 1;
    }
  }
  for (const j of m.jobs.filter((x) => attemptRuns(x) && (x.deadline ?? Infinity) <= now))
    settleJob(m, j, false, now, true);
  // A claim whose message has not begun is sent again under the same attempt, its deadline doubled.
  const resent: Message[] = [];
  for (const j of ofStatus(m, "queued").filter((x) => (x.deadline ?? Infinity) <= now)) {
    j.misses = (j.misses ?? 0) + 1;
    j.deadline = capped(j, now + dispatchDeadline(j.misses));
    resent.push({ user_id: m.userId, job_id: j.id, attempt: j.attempt });
  }
  const limit = Math.min(BATCH, WINDOW - ofStatus(m, "queued").length);
  // A due job later than run_at + expires_after_seconds is failed instead of claimed (no attempt),
  // whatever its pools, in claim order, counting against the cycle's limit. What that makes due is
  // decided after it in the same cycle: an expired extra occurrence (run now) returns to its nominal
  // one (late too, perhaps), a job that waited on it and says run is due now.
  const expiry = {
    late: (c: DueCandidate) => {
      const j = c as MJob;
      return j.expiresAfterSeconds != null && now > j.runAt + j.expiresAfterSeconds * 1000;
    },
    expire: (c: DueCandidate) => {
      endOccurrence(m, c as MJob, false, now);
      m.expired = (m.expired ?? 0) + 1;
    },
  };
  const ids = claimOrder(m.jobs, m.caps, heldUnits(m.jobs), now, limit, keyUses(m.jobs), expiry);
  const sent: Message[] = [];
  for (const id of ids) {
    const j = m.jobs.find((x) => x.id === id);
    if (!j) throw new Error(`model: claimed unknown ${id}`);
    j.status = "queued";
    j.attempt += 1;
    j.deadline = capped(j, now + dispatchDeadline(j.misses ?? 0));
    sent.push({ user_id: m.userId, job_id: j.id, attempt: j.attempt });
  }
  m.sent.push(...resent, ...sent);
  // Retention, last: finished jobs whose removal time has come are gone, attempts and all.
  m.jobs = m.jobs.filter((j) => !(isFinished(j.status) && j.deadline !== null && j.deadline <= now));
  return [...resent, ...sent];
}

/**
 * Dispatch at submit (docs/architecture.md "Dispatch at submit"): when a submit's new jobs are the only
 * due ones (no other scheduled job of the shard is due, pooled or not), those the claim would decide
 * alone (due, no pool, no flow-control key, no debounce, no dependency, not cancel_other, not past
 * their expiry) go out with the submit, in the claim's order, up to the claim's room: queued under
 * attempt 1 with the dispatch deadline, as the alarm's claim at this instant would leave them. Call it
 * after adding `fresh` to the model. Returns the messages sent.
 */
export function dispatchAtSubmit(m: Model, fresh: MJob[]): Message[] {
  const now = m.now;
  const others = m.jobs.filter((j) => !fresh.includes(j));
  if (others.some((j) => j.status === "scheduled" && j.deadline !== null && j.deadline <= now)) return [];
  const alone = fresh.filter(
    (j) =>
      j.status === "scheduled" &&
      j.deadline !== null &&
      j.deadline <= now &&
      Object.keys(j.resources).length === 0 &&
      !j.flow &&
      !j.debounce &&
      !j.dependsOn &&
      j.overlap !== "cancel_other" &&
      !(j.expiresAfterSeconds != null && now > j.runAt + j.expiresAfterSeconds * 1000),
  );
  if (alone.length === 0) return [];
  const limit = Math.min(BATCH, WINDOW - ofStatus(m, "queued").length);
  const ids = claimOrder(alone, m.caps, heldUnits(m.jobs), now, limit);
  const sent: Message[] = [];
  for (const id of ids) {
    const j = alone.find((x) => x.id === id);
    if (!j) throw new Error(`model: dispatched unknown ${id}`);
    j.status = "queued";
    j.attempt = 1;
    j.deadline = now + dispatchDeadline(0);
    sent.push({ user_id: m.userId, job_id: j.id, attempt: j.attempt });
  }
  m.sent.push(...sent);
  return sent;
}

// --- dependencies (docs/design.md "Dependencies") ------------------------------------------------

export const DEPENDENCY_FAILED = "dependency_failed";
/** How an occurrence ended, for the jobs waiting on it: a cancel counts as a failure. */
export type DependencyOutcome = "succeeded" | "failed";
/** What a job that starts waiting on another hears at once: its outcome, or pending. */
export type DependencyState = DependencyOutcome | "pending";

/**
 * The model's record of dependencies: every occurrence that ended (in order, numbered), and when each
 * dependent last started waiting (its submit, or its retry) with what each of its blocked_by then was.
 * The invariants judge a dependent against this record alone (dependencyVerdicts), not against the
 * blocked_by the model keeps up step by step.
 */
export interface DependencyLog {
  seq: number;
  ends: { seq: number; id: string; outcome: DependencyOutcome }[];
  links: Map<string, { seq: number; at: number; states: Map<string, DependencyState> }>;
  /** Jobs whose occurrence succeeded in the current step, and those a dependency failed in it. */
  succeededInStep: Set<string>;
  failedInStep: Set<string>;
}

export const newDependencyLog = (): DependencyLog => ({
  seq: 0,
  ends: [],
  links: new Map(),
  succeededInStep: new Set(),
  failedInStep: new Set(),
});

/** How often each dependency rule applied (the model test prints them: not vacuous). */
export const DEPENDENCY_STATS: Record<string, number> = {};
const noted = (rule: string) => {
  DEPENDENCY_STATS[rule] = (DEPENDENCY_STATS[rule] ?? 0) + 1;
};

/** A scheduled job's due time: its run_at, or none while a dependency blocks it. */
export const dueTime = (j: MJob): number | null =>
  j.status === "scheduled" && !(j.blockedBy && j.blockedBy.length > 0) ? j.runAt : null;

/** A job still waits on dependencies: it is never claimed, and run now is refused. */
export const isBlocked = (j: { status: JobStatus; blockedBy?: readonly string[] | null }) =>
  !isFinished(j.status) && (j.blockedBy?.length ?? 0) > 0;

/**
 * What a job that starts waiting on `id` now hears at once (docs/design.md): a one-shot job that
 * succeeded has succeeded, one that failed or was cancelled has failed; a recurring job counts its next
 * finished occurrence (pending) unless it was cancelled (it has none). A job no longer held has failed:
 * its outcome can no longer be known.
 */
export function dependencyStateOf(m: Model, id: string): DependencyState {
  const j = m.jobs.find((x) => x.id === id);
  if (!j || j.status === "cancelled") return "failed";
  if (j.intervalSeconds !== null) return "pending";
  if (j.status === "succeeded") return "succeeded";
  if (j.status === "failed") return "failed";
  return "pending";
}

/**
 * An occurrence of `id` ended with `outcome`: every unfinished job waiting on it hears it, in id order
 * (a failure that fails one tells that one's own dependents in turn).
 */
export function occurrenceEnded(m: Model, id: string, outcome: DependencyOutcome, now: number): void {
  m.deps.seq += 1;
  m.deps.ends.push({ seq: m.deps.seq, id, outcome });
  if (outcome === "succeeded") m.deps.succeededInStep.add(id);
  const waiting = m.jobs
    .filter((d) => isBlocked(d) && d.blockedBy?.includes(id))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  for (const d of waiting) hear(m, d, id, outcome, now);
}

/**
 * A job blocked by `depId` hears it ended: a failure fails it with dependency_failed (a finished
 * occurrence: no attempt, its blocked_by kept for a retry) unless it says run; otherwise the dependency
 * leaves blocked_by, and when none is left the job is due at its run_at, or now if that has passed
 * (a paused job stays paused, due then when resumed). A job finished, or not blocked by it, ignores it.
 */
function hear(m: Model, d: MJob, depId: string, outcome: DependencyOutcome, now: number): void {
  if (!isBlocked(d) || !d.blockedBy?.includes(depId)) return;
  if (outcome === "failed" && d.onDependencyFailure !== "run") {
    d.status = "failed";
    d.dependencyFailed = true;
    d.runs += 1;
    d.deadline = removalAt(now);
    m.deps.failedInStep.add(d.id);
    noted("dependent.failed");
    occurrenceEnded(m, d.id, "failed", now);
    return;
  }
  if (outcome === "failed") noted("dependent.runs.anyway");
  const rest = d.blockedBy.filter((x) => x !== depId);
  if (rest.length > 0) {
    d.blockedBy = rest;
    noted("dependent.still.blocked");
    return;
  }
  d.blockedBy = null;
  d.runAt = Math.max(d.runAt, now);
  d.occurrenceAt = d.runAt;
  d.deadline = dueTime(d);
  noted(d.status === "paused" ? "dependent.unblocked.paused" : "dependent.unblocked");
}

/**
 * The job (just created, or retried) starts waiting on its blocked_by: the model records what each of
 * them is now, and the job hears at once of those already finished, in blocked_by order.
 */
export function linkJob(m: Model, d: MJob, now: number): void {
  const states = new Map((d.blockedBy ?? []).map((id) => [id, dependencyStateOf(m, id)] as const));
  m.deps.seq += 1;
  m.deps.links.set(d.id, { seq: m.deps.seq, at: now, states });
  for (const [id, state] of states) {
    if (state === "pending") continue;
    noted(`linked.${state}`);
    hear(m, d, id, state, now);
  }
}

export type DependencyVerdict = "satisfied" | "failed" | "waiting";

/**
 * Each dependency of `d` as the record says, since d last started waiting: `satisfied` when it had
 * succeeded by then (or was left out as succeeded), or its first occurrence to end since succeeded (for
 * a job that says run: ended at all); `failed` when that was a failure (or it had failed by then) and
 * the job says fail; `waiting` while nothing has ended since.
 */
export function dependencyVerdicts(m: Model, d: MJob): Map<string, DependencyVerdict> {
  const link = m.deps.links.get(d.id);
  const runs = d.onDependencyFailure === "run";
  const verdicts = new Map<string, DependencyVerdict>();
  for (const id of d.dependsOn ?? []) {
    const state = link?.states.get(id);
    const first =
      state === "pending" ? m.deps.ends.find((e) => e.id === id && e.seq > (link?.seq ?? 0)) : undefined;
    const outcome = state === undefined ? "succeeded" : state === "pending" ? first?.outcome : state;
    verdicts.set(
      id,
      outcome === undefined ? "waiting" : outcome === "succeeded" || runs ? "satisfied" : "failed",
    );
  }
  return verdicts;
}
