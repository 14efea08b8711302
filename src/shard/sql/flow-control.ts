// Flow control per key on the home shard (docs/design.md "Flow control per key"; the admission rule is
// src/core/flow-control.ts). Every job with a key lives here, so this shard alone decides for the key.
//
// keyHolders(db) → Map of key → {holders, notBegun}
//   reads the in-flight gated rows through jobs_wake (status queued, running or paused; needs_pools 1).
//   Rows written: 0.
// startLogOf(db, key) → StartLog   reads flow_keys[key]. Rows written: 0.
// recordStart(db, flow, now) → void
//   on begin: reads flow_keys[key]; writes it with one more start (upsert) when the job has a rate or
//   the key has a log already. Rows written: 1 (WITHOUT ROWID: the key is the table); 0 for a key
//   without any rate.
// forgetIdleKey(db, key, now) → void
//   when an attempt of the key ends: reads flow_keys[key]; deletes it when no start is left in any
//   window. Rows written: 1 when deleted, else 0.
// forgetIdleKeys(db, keys, now) → void   the same for many keys (retention). Rows written: 1 per key deleted.
// flowKeyView(db, key, now) → FlowKeyView
//   GET /v1/flow-control/:key: the holders (as keyHolders, one key), the due scheduled jobs of the key
//   (reads the due gated rows through jobs_wake), the starts of the last period. Rows written: 0.
// flowKeysInUse(db, now, limit) → FlowKeyView[]
//   GET /v1/flow-control: every key with holders (keyHolders), due waiting jobs (the due gated rows
//   through jobs_wake, grouped by key) or a start within its log's period (flow_keys, one row per key
//   with a rate in use), busiest first, at most `limit`. Rows written: 0.
// FlowRound: one dispatch cycle's admissions (claimDue), over keyHolders and startLogOf. Rows written: 0.
//
// Slots are not counted anywhere: a key's holders are its jobs whose current attempt is claimed or
// running (a queued or running row, or a paused one whose attempt still runs: attemptInFlight), read
// from the rows themselves. So a slot is given back by whatever ends the attempt (a report, a timeout,
// a cancel, a withdrawn dispatch, a failed send), exactly once, with no release step to forget. The
// start log is the only state of its own, and a key without a rate has none.
import { sql } from "drizzle-orm";
import {
  admit,
  claimed,
  type FlowControl,
  type FlowUse,
  limitsOf,
  pruned,
  type StartLog,
  startsAfter,
  withStart,
} from "../../core/flow-control";
import type { ShardDb } from "../db";
import type { FlowKeyView } from "../rpc";
import { flowKeys, IN_WAKE } from "../schema";
import { NOT_BEGUN_TEXT } from "./begun";
import { storageOf } from "./storage";

/** A key's slot holders: in flight under the current attempt number. Over jobs alone (fixed text). */
const HOLDS_SLOT = `(status in ('queued', 'running') or (status = 'paused'
  and last_attempt_status = 'running' and last_attempt_number = attempt))`;

const KEY_HOLDERS = `select flow_key as key, count(*) as holders, sum(${NOT_BEGUN_TEXT}) as not_begun
  from jobs where status in ('queued', 'running', 'paused') and needs_pools = 1 and flow_key is not null
    and ${HOLDS_SLOT} and ${IN_WAKE}
  group by flow_key`;

export interface KeyHolders {
  holders: number;
  notBegun: number;
}

/** Every key with an attempt in flight, and how many of those have not begun. */
export function keyHolders(db: ShardDb): Map<string, KeyHolders> {
  const rows = storageOf(db).sql.exec(KEY_HOLDERS).toArray();
  return new Map(
    rows.map((r) => [String(r.key), { holders: Number(r.holders), notBegun: Number(r.not_begun ?? 0) }]),
  );
}

const SELECT_LOG = "select starts, keep_ms from flow_keys where key = ?";

function readLog(db: ShardDb, key: string): { starts: StartLog; keepMs: number } | null {
  const [row] = storageOf(db).sql.exec(SELECT_LOG, key).toArray();
  if (!row) return null;
  return { starts: JSON.parse(String(row.starts)) as StartLog, keepMs: Number(row.keep_ms) };
}

/** The key's start log (empty for a key that has none). */
export function startLogOf(db: ShardDb, key: string): StartLog {
  return readLog(db, key)?.starts ?? [];
}

const UPSERT_LOG = `insert into flow_keys (key, starts, keep_ms) values (?, ?, ?)
  on conflict (key) do update set starts = excluded.starts, keep_ms = excluded.keep_ms`;

/**
 * recordStart: an attempt of the key begins at `now`. Invariant: every begin of a job with a rate is
 * in its key's log (as is every begin of any job of a key that has a log), kept as long as the longest
 * period of those jobs, so admit() sees every start a window can hold.
 */
export function recordStart(db: ShardDb, flow: FlowControl, now: number): void {
  const log = readLog(db, flow.key);
  if (!log && flow.rate === null) return;
  const periodMs = flow.rate === null ? 0 : flow.period_seconds * 1000;
  const keepMs = Math.max(periodMs, log && startsAfter(log.starts, now - log.keepMs) > 0 ? log.keepMs : 0);
  const starts = withStart(log?.starts ?? [], now, keepMs);
  storageOf(db).sql.exec(UPSERT_LOG, flow.key, JSON.stringify(starts), keepMs);
}

/** forgetIdleKey: the key's log goes once no window ending now or later holds a start of it. */
export function forgetIdleKey(db: ShardDb, key: string, now: number): void {
  const log = readLog(db, key);
  if (log && pruned(log.starts, now, log.keepMs).length === 0) {
    db.delete(flowKeys).where(sql`${flowKeys.key} = ${key}`).run();
  }
}

/** forgetIdleKeys: forgetIdleKey for many keys (retention), in one statement. */
export function forgetIdleKeys(db: ShardDb, keys: string[], now: number): void {
  db.run(sql`delete from ${flowKeys} where ${flowKeys.key} in (select value from json_each(${JSON.stringify(keys)}))
    and json_extract(${flowKeys.starts}, '$[#-1][0]') + ${flowKeys.keepMs} <= ${now}`);
}

const DUE_WAITING = `select count(*) as n from jobs
  where status = 'scheduled' and needs_pools = 1 and deadline <= ? and flow_key = ? and ${IN_WAKE}`;

/** GET /v1/flow-control/:key. An unknown or idle key answers zeros: keys need no set-up. */
export function flowKeyView(db: ShardDb, key: string, now: number): FlowKeyView {
  const holders = keyHolders(db).get(key);
  const [waiting] = storageOf(db).sql.exec(DUE_WAITING, now, key).toArray();
  const log = readLog(db, key);
  return {
    key,
    running: holders?.holders ?? 0,
    waiting: Number(waiting?.n ?? 0),
    started_last_period: log ? startsAfter(log.starts, now - log.keepMs) : 0,
  };
}

const DUE_WAITING_BY_KEY = `select flow_key as key, count(*) as n from jobs
  where status = 'scheduled' and needs_pools = 1 and deadline <= ? and flow_key is not null and ${IN_WAKE}
  group by flow_key`;

const ALL_LOGS = "select key, starts, keep_ms from flow_keys";

/** At most this many keys in GET /v1/flow-control. */
export const FLOW_KEYS_LISTED = 100;

/**
 * GET /v1/flow-control: the keys in use, busiest first (most running, then most waiting, then most
 * started within their period; ties by key), at most `limit`. A log with no start left in its
 * period is idle (forgetIdleKey removes it when an attempt ends) and is not listed.
 */
export function flowKeysInUse(db: ShardDb, now: number, limit = FLOW_KEYS_LISTED): FlowKeyView[] {
  const views = new Map<string, FlowKeyView>();
  const viewOf = (key: string) => {
    let v = views.get(key);
    if (!v) {
      v = { key, running: 0, waiting: 0, started_last_period: 0 };
      views.set(key, v);
    }
    return v;
  };
  for (const [key, h] of keyHolders(db)) viewOf(key).running = h.holders;
  const storage = storageOf(db).sql;
  for (const r of storage.exec(DUE_WAITING_BY_KEY, now).toArray())
    viewOf(String(r.key)).waiting = Number(r.n);
  for (const r of storage.exec(ALL_LOGS).toArray()) {
    const started = startsAfter(JSON.parse(String(r.starts)) as StartLog, now - Number(r.keep_ms));
    if (started > 0) viewOf(String(r.key)).started_last_period = started;
  }
  return [...views.values()]
    .sort(
      (a, b) =>
        b.running - a.running ||
        b.waiting - a.waiting ||
        b.started_last_period - a.started_last_period ||
        (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
    )
    .slice(0, limit);
}

/**
 * One dispatch cycle's view of the keys (claimDue): each key's use, read when the walk first meets it
 * (the in-flight holders of every key in one read, a key's log when needed), kept up to date with the
 * cycle's own claims. A key that admits no more is blocked for the rest of the cycle, so no lower job
 * of the key overtakes a higher one (priority and aging order within the key, by construction), and the earliest
 * time a rate lets a blocked key through again is kept (`wakeAt`), for the alarm.
 */
export class FlowRound {
  private holders: Map<string, KeyHolders> | undefined;
  /** Each key met so far: its use as this cycle left it (its own claims counted). */
  private readonly uses = new Map<string, FlowUse>();
  private readonly blockedKeys = new Set<string>();
  /** The earliest time a key blocked by its rate opens again (null: none). */
  wakeAt: number | null = null;

  constructor(
    private readonly db: ShardDb,
    private readonly now: number,
  ) {}

  /** Keys no later job of this cycle may be claimed for. */
  blocked(): string[] {
    return [...this.blockedKeys];
  }

  /** Whether one more attempt of the key may be claimed now; if not, the key is blocked. */
  admits(flow: FlowControl): boolean {
    if (this.blockedKeys.has(flow.key)) return false;
    const verdict = admit(this.useOf(flow.key), limitsOf(flow), this.now);
    if (verdict.ok) return true;
    if (verdict.reopensAt !== null)
      this.wakeAt = Math.min(this.wakeAt ?? verdict.reopensAt, verdict.reopensAt);
    this.blockedKeys.add(flow.key);
    return false;
  }

  /** A job of the key was claimed: it holds a slot and will start. */
  claimed(key: string): void {
    this.uses.set(key, claimed(this.useOf(key)));
  }

  /** The key's use: read when first met (the in-flight holders of every key at once, its log). */
  private useOf(key: string): FlowUse {
    const known = this.uses.get(key);
    if (known) return known;
    this.holders ??= keyHolders(this.db);
    const use = {
      ...(this.holders.get(key) ?? { holders: 0, notBegun: 0 }),
      starts: startLogOf(this.db, key),
    };
    this.uses.set(key, use);
    return use;
  }
}
