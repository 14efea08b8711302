// The retention sweep: removal of finished jobs without an index entry of their own.
//
// A finish that leaves a job to the sweep marks it `swept`, which takes it out of jobs_wake (partial:
// IN_WAKE), so the finish writes the job row alone instead of the row and its jobs_wake entry. The
// sweep then finds such jobs in rowid order, one cursor per retention (retention_sweeps), and hands the
// due ones to the same removal as the jobs with entries (outbound.ts, removeExpiredJobs).
//
// Why rowid order finds them in time. Rows are created in rowid order (a new row takes max(rowid) + 1,
// so every row above a cursor is newer than the ones below it), and a finish sweeps a job only if it
// ends within SWEEP_WITHIN_MS of its creation. A removal time lies in [finish + retention, finish +
// retention + grid) (src/core/removal-time.ts). For two swept jobs of one retention, r1 < r2 in rowid,
// r1's removal time is below created(r1) + SWEEP_WITHIN_MS + retention + grid ≤ created(r2) +
// SWEEP_WITHIN_MS + retention + grid ≤ r2's removal time + SWEEP_WITHIN_MS + grid. So a sweep that
// stops at the first swept job not yet due delays no job behind it by more than SWEEP_WITHIN_MS + grid
// past its removal time (two minutes at most; the retention itself is never cut short).
// Jobs that end later (long runs, retries, jobs due later than their submit) keep their entry, as
// every job did before, as do jobs behind the cursor and jobs of a retention with no cursor yet.
//
// Invariants, each kept by construction:
//   (1) no job at or below its retention's `through` is swept: the finish sweeps only rows above it,
//       and a sweep clears `swept` on every row of its retention it moves the cursor over;
//   (2) whenever a swept job of a retention is due, its cursor's `sweep_at` has come (up to the bound's
//       lateness): a sweep that stops sets it to the removal time of the job it stopped at; one that
//       read to the end leaves it null only if no finish swept a job meanwhile; the first finish that
//       sweeps a job of a cursor without one sets it to that job's removal time (armSweep);
//   (3) an unfinished job is in jobs_wake whatever `swept` says (IN_WAKE), so a swept job that is
//       retried is claimed as any other;
//   (4) a swept job that does not keep the bound above (a later change finished it long after its
//       creation) is given its entry back by the sweep that meets it, not waited for.
//
// sweepOnFinish (SQL, for the finish statement: attempt-statements.ts): the `swept` a settlement
//   assigns. Reads the retention's cursor (a key lookup). Rows written: none of its own.
// ensureSweep(db, job) → void
//   the cursor of the job's retention, made if missing (through = the job's rowid − 1). Rows written:
//   1 when made (once per retention per shard), else 0; the statement runs once per retention per
//   object (a memo: a missing cursor only costs entries, never a removal).
// armSweep(db, job) → void
//   after a finish that swept the job: its cursor's sweep_at, if it has none. Rows written: 1 then,
//   else 0 (and no statement once the object knows the cursor has one).
// readSweeps(db, now, limit) → SweepPage[]
//   for each cursor whose sweep_at has come, ≤ limit swept jobs of its retention above it (rowid
//   order, a range read of the rows between). Rows written: 0.
// settleSweep(db, page, now) → void
//   one transaction after the removal: gives strays their entries, moves the cursor over the removed
//   prefix (clearing `swept` on what it passes), and sets sweep_at. Rows written: 1 (the cursor) + 2 per
//   stray or passed row still swept (none in the usual case).
// lowerSweeps(db) → void (in removeJobs' transaction): every cursor ≤ max(rowid), as lowerWatermark.
import { getTableColumns, type SQL, sql } from "drizzle-orm";
import { removalGrid } from "../../core/removal-time";
import { isFinished } from "../../core/state";
import type { ShardDb } from "../db";
import { FINISHED_SQL, type JobRow, jobs, retentionSweeps } from "../schema";
import { prepared } from "./prepared";

/** A finish sweeps a job only if it ends this soon after its creation: the removal's most lateness. */
export const SWEEP_WITHIN_MS = 60_000;

/**
 * The `swept` a settlement assigns, for a statement that binds `status` (the new status) and `now`:
 * 1 when the job finishes above its retention's cursor within SWEEP_WITHIN_MS of its creation, null
 * otherwise (the job keeps its jobs_wake entry). A retention with no cursor yet compares with null: no.
 */
export function sweepOnFinish(status: SQL, now: SQL): SQL<boolean | null> {
  return sql<boolean | null>`case when ${status} in ${sql.raw(FINISHED_SQL)}
    and "jobs"."rowid" > (select "through" from "retention_sweeps" where "retention_seconds" = "jobs"."finished_retention_seconds")
    and ${now} <= "jobs"."created_at" + ${sql.raw(String(SWEEP_WITHIN_MS))} then 1 else null end`;
}

/**
 * What this object knows of its cursors (per database handle; lost on restart, which only costs a
 * statement): the retentions whose cursor exists, those whose sweep_at is set, and how many finishes
 * have swept a job (so a sweep that read a cursor to its end knows whether one came in meanwhile).
 */
interface Memo {
  made: Set<number>;
  armed: Set<number>;
  swept: number;
}
const memos = new WeakMap<ShardDb, Memo>();

function memoOf(db: ShardDb): Memo {
  let memo = memos.get(db);
  if (!memo) {
    memo = { made: new Set(), armed: new Set(), swept: 0 };
    memos.set(db, memo);
  }
  return memo;
}

/**
 * ensureSweep: the cursor of `job`'s retention, made when missing (sweep_at null: nothing swept yet),
 * before its finish runs, so the job itself can be swept. Invariant (1) holds as made: no job of a
 * retention without a cursor is swept.
 */
export function ensureSweep(db: ShardDb, job: Pick<JobRow, "id" | "finishedRetentionSeconds">): void {
  const memo = memoOf(db);
  if (memo.made.has(job.finishedRetentionSeconds)) return;
  db.run(sql`insert into ${retentionSweeps} (retention_seconds, through, sweep_at)
    select finished_retention_seconds, rowid - 1, null from ${jobs} where ${jobs.id} = ${job.id}
    on conflict do nothing`);
  memo.made.add(job.finishedRetentionSeconds);
}

/**
 * armSweep: after a finish that swept `job` (its row as written), the alarm's time for its cursor when
 * it has none: its removal time (invariant 2; a later swept job of the retention finished later, so it
 * is due later). Rows written: 1 when the cursor had no sweep_at (the first swept job after a sweep
 * that emptied it), else 0; run once per cursor per object until a sweep empties it.
 */
export function armSweep(db: ShardDb, job: Pick<JobRow, "swept" | "finishedRetentionSeconds" | "deadline">) {
  if (!job.swept || job.deadline === null) return;
  const memo = memoOf(db);
  memo.swept += 1;
  if (memo.armed.has(job.finishedRetentionSeconds)) return;
  prepared(db, "retentionSweep.arm", (d) =>
    d
      .update(retentionSweeps)
      .set({ sweepAt: sql`${sql.placeholder("at")}` })
      .where(
        sql`${retentionSweeps.retentionSeconds} = ${sql.placeholder("retention")} and ${retentionSweeps.sweepAt} is null`,
      )
      .prepare(),
  ).run({ at: job.deadline, retention: job.finishedRetentionSeconds });
  memo.armed.add(job.finishedRetentionSeconds);
}

export type SweptJob = JobRow & { rowid: number };

export interface SweepPage {
  retentionSeconds: number;
  /** The cursor as read. */
  from: number;
  /** Due for removal, in rowid order. */
  due: SweptJob[];
  /** Finished swept jobs that break the bound (invariant 4): given their entries back. */
  strays: string[];
  /** Where the cursor goes once every due job is gone: before the first swept job not yet due, else
   * the last row read. */
  end: number;
  /** sweep_at once every due job is gone (null: none of the retention's jobs is swept any more). */
  next: number | null;
  /** The object's count of swept finishes when the page was read. */
  sweptAtRead: number;
}

/** readSweeps: the swept jobs due for removal, per cursor whose time has come, ≤ `limit` in all. */
export function readSweeps(db: ShardDb, now: number, limit: number): SweepPage[] {
  const cursors = prepared(db, "retentionSweep.cursors", (d) =>
    d
      .select()
      .from(retentionSweeps)
      .where(sql`${retentionSweeps.sweepAt} <= ${sql.placeholder("now")}`)
      .prepare(),
  ).all({ now });
  const pages: SweepPage[] = [];
  let room = limit;
  for (const c of cursors) {
    if (room <= 0) break;
    const rows = prepared(db, "retentionSweep.page", (d) =>
      d
        .select({ ...getTableColumns(jobs), rowid: sql<number>`"jobs"."rowid"` })
        .from(jobs)
        .where(
          sql`"jobs"."rowid" > ${sql.placeholder("through")} and ${jobs.swept} = 1
            and ${jobs.finishedRetentionSeconds} = ${sql.placeholder("retention")}`,
        )
        .orderBy(sql`"jobs"."rowid"`)
        .limit(sql.placeholder("limit"))
        .prepare(),
    ).all({ through: c.through, retention: c.retentionSeconds, limit: room });
    const page = { ...sweepPage(c, rows, now, room), sweptAtRead: memoOf(db).swept };
    room -= page.due.length;
    pages.push(page);
  }
  return pages;
}

/**
 * What a sweep makes of the swept rows it read above a cursor, in rowid order (pure): the finished
 * ones due go to removal; the first finished one not yet due stops it (the cursor goes to just before
 * it, sweep_at to its removal time); a finished one that breaks the bound is a stray; an unfinished one
 * (retried since its finish) is passed, in jobs_wake already (IN_WAKE). A page read to its end with
 * room to spare leaves no sweep_at (nothing of the retention is swept above the cursor); a full one,
 * now (go on).
 */
export function sweepPage<
  J extends Pick<JobRow, "id" | "status" | "deadline" | "createdAt"> & { rowid: number },
>(
  c: { retentionSeconds: number; through: number },
  rows: J[],
  now: number,
  limit: number,
): Omit<SweepPage, "due" | "sweptAtRead"> & { due: J[] } {
  // A removal time is on its retention's grid (src/core/removal-time.ts): below finish + retention + grid.
  const bound = c.retentionSeconds * 1000 + removalGrid(c.retentionSeconds);
  const due: J[] = [];
  const strays: string[] = [];
  let end = c.through;
  for (const row of rows) {
    if (isFinished(row.status)) {
      const removalAt = row.deadline;
      // (A finished row always has its removal time; one without is left to jobs_wake, not looped on.)
      if (removalAt === null || removalAt >= row.createdAt + SWEEP_WITHIN_MS + bound) strays.push(row.id);
      else if (removalAt <= now) due.push(row);
      else
        return {
          retentionSeconds: c.retentionSeconds,
          from: c.through,
          due,
          strays,
          end: row.rowid - 1,
          next: removalAt,
        };
    }
    end = row.rowid;
  }
  const next = rows.length >= limit ? now : null;
  return { retentionSeconds: c.retentionSeconds, from: c.through, due, strays, end, next };
}

/**
 * settleSweep: after the removal of `page.due`, one transaction. Strays get their entries back; the
 * cursor moves to `page.end`, or to just before the first due job still there (a removal cut short or
 * not yet done: sweep_at now, so the alarm comes back at once); `swept` is cleared on every row of the
 * retention the cursor moves over (invariant 1: a removal that failed gave its jobs their entries
 * already, and a job swept meanwhile behind the new cursor gets its entry here).
 */
export function settleSweep(db: ShardDb, page: SweepPage, now: number): void {
  const memo = memoOf(db);
  const sweepAt = db.transaction((tx) => {
    const ids = JSON.stringify(page.strays);
    if (page.strays.length > 0)
      tx.run(sql`update ${jobs} set swept = null where ${jobs.id} in (select value from json_each(${ids}))`);
    const rowids = JSON.stringify(page.due.map((j) => j.rowid));
    const left = tx.get<{ first: number | null }>(
      sql`select min(rowid) as first from ${jobs} where rowid in (select value from json_each(${rowids}))
        and ${jobs.swept} = 1`,
    )?.first;
    const through = left == null ? page.end : left - 1;
    // Emptied only if no finish swept a job since the read (one might be above the end read).
    const emptied = left == null && page.next === null && memo.swept === page.sweptAtRead;
    const at = left != null ? now : emptied ? null : (page.next ?? now);
    tx.run(sql`update ${jobs} set swept = null where rowid > ${page.from} and rowid <= ${through}
      and ${jobs.swept} = 1 and ${jobs.finishedRetentionSeconds} = ${page.retentionSeconds}`);
    // At most max(rowid) (lowerSweeps): the removal may have deleted the newest rows.
    tx.run(sql`update ${retentionSweeps}
      set through = min(${through}, (select coalesce(max(rowid), 0) from jobs)), sweep_at = ${at}
      where ${retentionSweeps.retentionSeconds} = ${page.retentionSeconds}`);
    return at;
  });
  if (sweepAt === null) memo.armed.delete(page.retentionSeconds);
  else memo.armed.add(page.retentionSeconds);
}

/**
 * lowerSweeps (in a delete's transaction): every cursor at most max(rowid), so a new row, which takes
 * max(rowid) + 1, lands above them all and can be swept (as lowerWatermark does for the index copy).
 */
export function lowerSweeps(db: Pick<ShardDb, "run">): void {
  db.run(sql`update ${retentionSweeps} set through = (select coalesce(max(rowid), 0) from jobs)
    where through > (select coalesce(max(rowid), 0) from jobs)`);
}
