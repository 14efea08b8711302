// The soak's verdicts, computed from three independent records: the plan (what was submitted and when
// it was due), the target's log (what actually arrived, when, and what it answered) and the shard's
// final view of every job (GET /v1/jobs/:id: status, runs, attempts). Pure: no I/O.
//
// Definitions (they are also written into docs/reliability.md):
// - lost job: a job whose submit was acknowledged (201/200) but that is missing afterwards (404), is
//   not in a final state when the drain ends (one-shot: succeeded/failed; recurring: cancelled after
//   the soak cancels it), or, for a one-shot /ok job, was never delivered to the target.
// - duplicate accepted completion: more than one `succeeded` attempt for one occurrence of a job
//   (one-shot: any two; recurring: two in the same slot of its interval grid), or `runs` larger than
//   the occurrences that can have finished (one-shot: 1; recurring: the finished slots in its complete
//   attempt list, and the distinct webhook-ids the target received plus finished slots with no delivery).
// - raw duplicate delivery: a /ok webhook-id (job id + occurrence) that reached the target more than
//   once. Retries of /fail and /hang are repeats by design and are counted apart.
// - invariant violation: a job's final state contradicts itself or the target (more deliveries than
//   begun attempts, a delivery before any attempt began, a finished one-shot whose runs ≠ 1, a failed
//   job whose retries were not spent, a /fail or /hang job that succeeded, a bad signature, a repeat
//   delivery of a one-shot job under another webhook-id than its first).
// - slow crash recovery: an attempt a kill cut off (it was running at the kill and ended without a
//   report, or is still running) that the shard had not given up on 60 s after the restart that
//   followed. Liveness is the heartbeat's 30 s, whatever the job's timeout_seconds.
// Jobs of the dependency graphs (kind `dep`) are one-shot jobs to these checks (one failed by its
// dependency has no attempt); what dependencies mean is checked by lib/analyse-graphs.ts.
import type { Attempt } from "../../harness/api-types";
import { type Distribution, distribution } from "../../harness/stats";
import { listIn, ms } from "../../harness/util";
import { DEPENDENCY_FAILED } from "./analyse-graphs";
import type { Kill, Kind, SoakDelivery, SoakJob } from "./types";

type KillTimes = Pick<Kill, "at" | "readyAt">;
type Bucket = "clean" | "fault";
type Pair = Record<Bucket, number[]>;
/** For attempts, whose times are always set. */
const t = (isoTime: string) => ms(isoTime) as number;

const ONE_SHOT_FINAL = new Set(["succeeded", "failed"]);
const ATTEMPTS_SHOWN = 20;
// Error texts of an attempt the shard gave up on because no report came: the timeout bound, or
// the heartbeats stopped.
const NO_REPORT = ["timed out: no report", "heartbeats stopped"];
const endedWithoutReport = (a: Attempt) =>
  a.status === "timed_out" && NO_REPORT.some((p) => a.error?.startsWith(p));
/** The bound on noticing a crashed attempt, counted from the restart that followed the kill. */
export const RECOVERY_BOUND_MS = 60_000;
const EXECUTOR_TIMEOUT = "request timed out";
// A delivery arrives after its attempt's begin; allow for clock granularity between the processes.
const CLOCK_SLACK_MS = 50;

export interface FaultWindow {
  preMs: number;
  postMs: number;
}

export function makeFaultClock(kills: readonly KillTimes[], { preMs, postMs }: FaultWindow) {
  return {
    /** A kill strictly between two instants, if any. */
    killBetween(a: number, b: number) {
      return kills.find((k) => k.at > a && k.at < b) ?? null;
    },
    killsBetween(a: number, b: number) {
      return kills.filter((k) => k.at > a && k.at < b).length;
    },
    /** The last kill strictly between two instants, if any. */
    lastKillBetween(a: number, b: number) {
      return kills.findLast((k) => k.at > a && k.at < b) ?? null;
    },
    /** Within [kill − preMs, healthy again + postMs] of some kill. */
    affected(t: number) {
      return kills.some((k) => t >= k.at - preMs && t <= k.readyAt + postMs);
    },
  };
}

/** The attempt (ascending list) a delivery at `at` belongs to: the latest one begun before it. */
function attemptFor(attempts: Attempt[], at: number): Attempt | null {
  let found: Attempt | null = null;
  for (const a of attempts) {
    if (t(a.started_at) <= at + CLOCK_SLACK_MS) found = a;
    else break;
  }
  return found;
}

/** Slot of each attempt of a recurring job on its interval grid (retries keep their occurrence's slot). */
function slotsOf(job: SoakJob, attempts: Attempt[]): Map<number, number | null> {
  const step = (job.intervalSeconds ?? 0) * 1000;
  const slots = new Map<number, number | null>();
  let current: number | null = null;
  for (const a of attempts) {
    const off = t(a.scheduled_at) - job.runAtMs;
    if (off >= 0 && off % step === 0) current = off / step;
    slots.set(a.number, current);
  }
  return slots;
}

const brief = (a: Attempt | null | undefined) =>
  a && {
    number: a.number,
    status: a.status,
    scheduled_at: a.scheduled_at,
    started_at: a.started_at,
    finished_at: a.finished_at,
    error: a.error,
  };

const briefDelivery = (d: SoakDelivery) => ({
  at: new Date(d.at).toISOString(),
  route: d.route,
  status: d.status,
  hungUp: d.hungUp,
});

/** A finding, with the evidence to check it by hand. */
type Finding = { id: string | null; [detail: string]: unknown };

export interface AnalyseInput {
  jobs: SoakJob[];
  deliveries: SoakDelivery[];
  kills: readonly KillTimes[];
  faultWindow: FaultWindow;
}

export function analyse({ jobs, deliveries, kills, faultWindow }: AnalyseInput) {
  const clock = makeFaultClock(kills, faultWindow);
  const byJob = new Map<string, SoakDelivery[]>();
  for (const d of deliveries) {
    listIn(byJob, d.jobId).push(d);
  }
  for (const list of byJob.values()) list.sort((a, b) => a.at - b.at);
  const known = new Set(jobs.map((j) => j.id));

  const lost: Finding[] = [];
  const duplicates: Finding[] = [];
  const violations: Finding[] = [];
  const rawDuplicates: {
    wid: string;
    kind: Kind;
    killBetween: boolean;
    cause: string;
    [k: string]: unknown;
  }[] = [];
  const repeatsByDesign = { fail: 0, hang: 0 };
  const okNotSucceeded: Finding[] = [];
  const truncatedAttemptLists: string[] = [];
  const lateness: Record<"attempts" | "firstAttempts" | "delivery", Pair> = {
    attempts: { clean: [], fault: [] },
    firstAttempts: { clean: [], fault: [] },
    delivery: { clean: [], fault: [] },
  };
  const recovery = {
    lostDispatches: { kill: 0, noKill: 0 },
    leaseExpiries: { kill: 0, noKill: 0 },
    executorTimeouts: 0,
  };
  // Attempts a kill cut off: how long after the restart the shard gave up on them (ms).
  const crash = { afterRestart: [] as number[], slow: [] as Finding[], stillRunning: 0 };
  // /ok one-shots: run_at → the succeeded attempt's end (ms), all of them and those a kill cut off.
  const toSucceeded: Pair & { cutOff: number[] } = { clean: [], fault: [], cutOff: [] };
  let leftRunning = 0;
  let otherWebhookId = 0;
  let lastFinalAt = 0;
  let allFinal = true;
  const finalStatus: Record<string, number> = {};
  let unknownDeliveries = 0;
  for (const d of deliveries) if (!known.has(d.jobId)) unknownDeliveries++;
  const badSignatures = deliveries.filter((d) => d.signature === false).length;
  const unverified = deliveries.filter((d) => d.signature === null).length;
  if (badSignatures > 0)
    violations.push({ id: null, what: `${badSignatures} deliveries with a bad signature` });

  const lostBy = { missing: 0, unfinished: 0, neverDelivered: 0 };
  type Late = { id: string; kind: Kind; number: number; scheduled_at: string; lateness_ms: number };
  const latest: Record<Bucket, Late[]> = { clean: [], fault: [] };
  let attemptsBegun = 0;
  let afterSnapshot = 0;
  for (const job of jobs) {
    const view = job.view;
    const allDels = byJob.get(job.id) ?? [];
    // Compared with the job only what had arrived when its view was read: a system that has not
    // quiesced (a failed drain) is still delivering while the soak reads.
    const dels = allDels.filter((d) => job.viewAt === undefined || d.at <= job.viewAt);
    afterSnapshot += allDels.length - dels.length;
    const oneShot = job.kind !== "rec";
    const evidence = () => ({
      status: view?.status,
      runs: view?.runs,
      current_retries: view?.current_retries,
      attempts: (view ? [...view.attempts].reverse() : []).map(brief),
      deliveries: dels.map((d) => ({ wid: d.wid, ...briefDelivery(d) })),
    });
    const key = `${job.kind}:${view?.status ?? "missing"}`;
    finalStatus[key] = (finalStatus[key] ?? 0) + 1;

    // --- lost ---
    const lostWhy: string[] = [];
    if (!view) {
      lostWhy.push("GET /v1/jobs/:id is 404 after an acknowledged submit");
      lostBy.missing++;
    } else if (oneShot && !ONE_SHOT_FINAL.has(view.status)) {
      lostWhy.push(`not finished when the drain ended: ${view.status}`);
      lostBy.unfinished++;
    } else if (!oneShot && view.status !== "cancelled") {
      lostWhy.push(`recurring job not cancelled: ${view.status}`);
      lostBy.unfinished++;
    }
    if (job.kind === "ok" && !allDels.some((d) => d.occurrence === 0)) {
      lostWhy.push("never delivered");
      lostBy.neverDelivered++;
    }
    if (lostWhy.length > 0) lost.push({ id: job.id, kind: job.kind, why: lostWhy, ...evidence() });
    if (!view) continue;

    const attempts = [...view.attempts].sort((a, b) => a.number - b.number);
    attemptsBegun += attempts.length;
    const truncated = attempts.length >= ATTEMPTS_SHOWN;
    if (truncated) truncatedAttemptLists.push(job.id);
    const succeeded = attempts.filter((a) => a.status === "succeeded");

    // --- deliveries ↔ attempts ---
    const perAttempt = new Map<number, number>();
    for (const d of dels) {
      const a = attemptFor(attempts, d.at);
      d.attempt = a?.number ?? null;
      if (a) perAttempt.set(a.number, (perAttempt.get(a.number) ?? 0) + 1);
      else if (!truncated)
        violations.push({ id: job.id, what: "a delivery arrived before any attempt began", ...evidence() });
    }
    if (!truncated && dels.length > attempts.length) {
      violations.push({
        id: job.id,
        what: `${dels.length} deliveries but only ${attempts.length} begun attempts`,
        ...evidence(),
      });
    }

    // --- duplicate accepted completions and state consistency ---
    if (oneShot) {
      if (succeeded.length > 1 || view.runs > 1) {
        duplicates.push({
          id: job.id,
          kind: job.kind,
          why: `${succeeded.length} succeeded attempts, runs = ${view.runs}`,
          ...evidence(),
        });
      }
      const inconsistent: string[] = [];
      if (ONE_SHOT_FINAL.has(view.status) && view.runs !== 1)
        inconsistent.push(`${view.status} with runs = ${view.runs}`);
      if (view.status === "succeeded" && attempts.at(-1)?.status !== "succeeded")
        inconsistent.push("succeeded but its latest attempt did not");
      // A graph job failed by its dependency never ran (lib/analyse-graphs.ts checks why it failed).
      const byDependency = job.kind === "dep" && view.last_error === DEPENDENCY_FAILED;
      if (view.status === "failed" && attempts.length !== (byDependency ? 0 : job.maxRetries + 1))
        inconsistent.push(`failed after ${attempts.length} attempts (max_retries ${job.maxRetries})`);
      if ((job.kind === "fail" || job.kind === "hang") && view.status === "succeeded")
        inconsistent.push(`a ${job.kind} job succeeded`);
      if (job.kind === "hang" && attempts.some((a) => a.status === "failed"))
        inconsistent.push("a hang attempt ended failed rather than timed_out");
      if (inconsistent.length > 0)
        violations.push({ id: job.id, what: inconsistent.join("; "), ...evidence() });
      if (job.kind === "ok" && view.status !== "succeeded")
        okNotSucceeded.push({ id: job.id, ...evidence() }); // evidence() starts with the status
    } else {
      const slots = slotsOf(job, attempts);
      const bySlot = new Map<number | null | undefined, Attempt[]>();
      for (const a of attempts) {
        const s = slots.get(a.number);
        listIn(bySlot, s).push(a);
      }
      let finished = 0;
      let finishedUndelivered = 0;
      for (const [slot, list] of bySlot) {
        const wins = list.filter((a) => a.status === "succeeded");
        if (wins.length > 1) {
          duplicates.push({
            id: job.id,
            kind: job.kind,
            why: `${wins.length} succeeded attempts in slot ${slot}`,
            ...evidence(),
          });
        }
        const spent =
          list.length >= job.maxRetries + 1 &&
          list.every((a) => a.status === "failed" || a.status === "timed_out");
        if (wins.length > 0 || spent) {
          finished++;
          if (list.every((a) => !perAttempt.get(a.number))) finishedUndelivered++;
        }
      }
      const distinctDelivered = new Set(dels.map((d) => d.wid)).size;
      if (!truncated && view.runs > finished) {
        duplicates.push({
          id: job.id,
          kind: job.kind,
          why: `runs = ${view.runs} but only ${finished} occurrences finished in its attempts`,
          ...evidence(),
        });
      } else if (view.runs > distinctDelivered + finishedUndelivered) {
        duplicates.push({
          id: job.id,
          kind: job.kind,
          why: `runs = ${view.runs} but the target saw ${distinctDelivered} webhook-ids`,
          ...evidence(),
        });
      }
      if (!truncated && view.runs < finished) {
        violations.push({
          id: job.id,
          what: `runs = ${view.runs} but ${finished} occurrences finished`,
          ...evidence(),
        });
      }
    }

    // --- deliveries of one webhook-id more than once ---
    const byWid = new Map<string, SoakDelivery[]>();
    for (const d of dels) {
      listIn(byWid, d.wid).push(d);
    }
    for (const [wid, list] of byWid) {
      if (list.length < 2) continue;
      if (job.kind === "fail" || job.kind === "hang") {
        repeatsByDesign[job.kind] += list.length - 1;
        continue;
      }
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1] as SoakDelivery;
        const next = list[i] as SoakDelivery;
        const kill = clock.killBetween(prev.at, next.at);
        const prevAttempt = attempts.find((a) => a.number === prev.attempt) ?? null;
        let cause: string;
        if (kill) cause = "kill between the deliveries: the earlier attempt's report died with the server";
        else if (prevAttempt && endedWithoutReport(prevAttempt))
          cause = "no kill: the lease expired before the earlier attempt reported";
        else if (prevAttempt?.status === "failed")
          cause = `no kill: the earlier attempt failed (${prevAttempt.error})`;
        else cause = "no kill: other";
        rawDuplicates.push({
          wid,
          kind: job.kind,
          killBetween: Boolean(kill),
          cause,
          earlier: { ...briefDelivery(prev), attempt: brief(prevAttempt) },
          later: {
            ...briefDelivery(next),
            attempt: brief(attempts.find((a) => a.number === next.attempt) ?? null),
          },
        });
      }
    }

    // --- lateness ---
    let prevStart = job.runAtMs;
    let cutOff = false;
    let prevNumber = 0;
    for (const a of attempts) {
      const scheduled = t(a.scheduled_at);
      const bucket = clock.affected(scheduled) ? "fault" : "clean";
      lateness.attempts[bucket].push(a.lateness_ms);
      latest[bucket].push({
        id: job.id,
        kind: job.kind,
        number: a.number,
        scheduled_at: a.scheduled_at,
        lateness_ms: a.lateness_ms,
      });
      const first = oneShot
        ? a === attempts[0]
        : (() => {
            const off = scheduled - job.runAtMs;
            return off >= 0 && off % ((job.intervalSeconds ?? 0) * 1000) === 0;
          })();
      if (first) lateness.firstAttempts[bucket].push(a.lateness_ms);
      // Attempt numbers skip where a claim was made but its message never began it in time (lost, or
      // later than the dispatch deadline). A kill can account for at most one such claim per job.
      if (!truncated || a !== attempts[0]) {
        const gap = a.number - prevNumber - 1;
        if (gap > 0) {
          const byKill = Math.min(gap, clock.killsBetween(prevStart, t(a.started_at)));
          recovery.lostDispatches.kill += byKill;
          recovery.lostDispatches.noKill += gap - byKill;
        }
      }
      prevStart = t(a.started_at);
      prevNumber = a.number;
      if (endedWithoutReport(a)) {
        const end = ms(a.finished_at) ?? Date.now();
        recovery.leaseExpiries[clock.killBetween(t(a.started_at), end) ? "kill" : "noKill"]++;
      }
      const running = a.status === "running";
      if (running || endedWithoutReport(a)) {
        const end = running ? (job.viewAt ?? Date.now()) : (ms(a.finished_at) ?? Date.now());
        const kill = clock.lastKillBetween(t(a.started_at), end);
        if (kill) {
          cutOff = true;
          const afterRestart = end - kill.readyAt;
          crash.afterRestart.push(afterRestart);
          if (running) crash.stillRunning++;
          if (afterRestart > RECOVERY_BOUND_MS)
            crash.slow.push({ id: job.id, afterRestartMs: afterRestart, ...brief(a) });
        }
      }
      if (a.error?.startsWith(EXECUTOR_TIMEOUT)) recovery.executorTimeouts++;
    }
    if (oneShot) {
      if (view.status === "running") leftRunning++;
      const latestAttempt = attempts.at(-1);
      // A job failed by its dependency has no attempt: it was final when it was last updated.
      const finalAt = latestAttempt ? latestAttempt.finished_at : (view.updated_at ?? null);
      if (ONE_SHOT_FINAL.has(view.status) && finalAt) lastFinalAt = Math.max(lastFinalAt, t(finalAt));
      else allFinal = false;
      // Every repeat of a one-shot delivery must carry the first one's webhook-id, so the receiver can drop it.
      const first = dels[0]?.wid;
      const others = dels.filter((d) => d.wid !== first).length;
      if (others > 0) {
        otherWebhookId += others;
        violations.push({
          id: job.id,
          what: `${others} repeat deliveries under another webhook-id than the first`,
          ...evidence(),
        });
      }
    }
    const won = attempts.find((a) => a.status === "succeeded");
    if (job.kind === "ok" && won?.finished_at) {
      const took = t(won.finished_at) - job.runAtMs;
      toSucceeded[clock.affected(job.runAtMs) ? "fault" : "clean"].push(took);
      if (cutOff) toSucceeded.cutOff.push(took);
    }
    if (job.kind === "ok") {
      const d0 = allDels.find((d) => d.occurrence === 0);
      if (d0) lateness.delivery[clock.affected(job.runAtMs) ? "fault" : "clean"].push(d0.at - job.runAtMs);
    }
  }

  const dist = (pair: Pair): Record<Bucket | "all", Distribution> => ({
    clean: distribution(pair.clean),
    fault: distribution(pair.fault),
    all: distribution([...pair.clean, ...pair.fault]),
  });
  const rawByCause: Record<string, number> = {};
  for (const r of rawDuplicates) rawByCause[r.cause] = (rawByCause[r.cause] ?? 0) + 1;
  const deliveriesByRoute: Record<string, number> = {};
  for (const d of deliveries) deliveriesByRoute[d.route] = (deliveriesByRoute[d.route] ?? 0) + 1;

  const lastReadyAt = kills.length > 0 ? Math.max(...kills.map((k) => k.readyAt)) : null;
  return {
    mustBeZero: {
      lostJobs: lost.length,
      duplicateAcceptedCompletions: duplicates.length,
      invariantViolations: violations.length,
      slowCrashRecoveries: crash.slow.length,
    },
    crashRecovery: {
      boundMs: RECOVERY_BOUND_MS,
      afterRestart: distribution(crash.afterRestart),
      stillRunning: crash.stillRunning,
      oneShotsLeftRunning: leftRunning,
      runAtToSucceeded: { ...dist(toSucceeded), cutOff: distribution(toSucceeded.cutOff) },
      allOneShotsFinalAfterLastRestartMs:
        allFinal && lastReadyAt !== null ? Math.max(0, lastFinalAt - lastReadyAt) : null,
    },
    rawDuplicateDeliveries: {
      total: rawDuplicates.length,
      underAnotherWebhookId: otherWebhookId,
      afterKill: rawDuplicates.filter((r) => r.killBetween).length,
      withoutKill: rawDuplicates.filter((r) => !r.killBetween).length,
      byCause: rawByCause,
    },
    repeatsByDesign,
    deliveries: {
      total: deliveries.length,
      byRoute: deliveriesByRoute,
      hungUpByCaller: deliveries.filter((d) => d.hungUp).length,
      unknownJob: unknownDeliveries,
      badSignatures,
      unverified,
    },
    lateness: {
      attempts: dist(lateness.attempts),
      firstAttempts: dist(lateness.firstAttempts),
      delivery: dist(lateness.delivery),
    },
    recovery,
    lostBy,
    attemptsBegun,
    deliveriesAfterSnapshot: afterSnapshot,
    finalStatus,
    okNotSucceeded: okNotSucceeded.length,
    truncatedAttemptLists: truncatedAttemptLists.length,
    evidence: {
      lost: lost.slice(0, 50),
      duplicates: duplicates.slice(0, 50),
      violations: violations.slice(0, 50),
      okNotSucceeded: okNotSucceeded.slice(0, 20),
      slowCrashRecoveries: crash.slow.slice(0, 20),
      rawDuplicates: rawDuplicates.slice(0, 30),
      latestAttempts: {
        clean: latest.clean.sort((x, y) => y.lateness_ms - x.lateness_ms).slice(0, 10),
        fault: latest.fault.sort((x, y) => y.lateness_ms - x.lateness_ms).slice(0, 10),
      },
    },
  };
}

const FINAL = new Set(["succeeded", "failed", "cancelled"]);

/**
 * Compares the D1 listing with the shard's view of each job: every job listed once, with the same
 * status, runs and updated_at. Returns the disagreements; `final` marks those on jobs whose shard
 * state can no longer change (the ones that must settle to 0), and rows for jobs never submitted.
 */
/** The fields the D1 listing and the shard must agree on. */
export type IndexedFields = { status: string; runs: number; updated_at?: string };

export interface IndexDisagreement {
  id: string;
  final: boolean;
  what: string;
  shard?: IndexedFields;
  d1?: IndexedFields;
}

export function compareIndex(
  views: Map<string, IndexedFields>,
  listed: Map<string, IndexedFields>,
): IndexDisagreement[] {
  const out: IndexDisagreement[] = [];
  for (const [id, view] of views) {
    const doc = listed.get(id);
    const final = FINAL.has(view.status);
    if (!doc) {
      out.push({ id, final, what: "missing from the listing", shard: pick(view) });
      continue;
    }
    const fields = (["status", "runs", "updated_at"] as const).filter((f) => doc[f] !== view[f]);
    if (fields.length > 0)
      out.push({ id, final, what: `differs in ${fields.join(", ")}`, shard: pick(view), d1: pick(doc) });
  }
  for (const [id, doc] of listed)
    if (!views.has(id)) out.push({ id, final: true, what: "listed but never submitted", d1: pick(doc) });
  return out;
}

const pick = (j: IndexedFields): IndexedFields => ({
  status: j.status,
  runs: j.runs,
  updated_at: j.updated_at,
});
