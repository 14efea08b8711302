// GET /v1/admin/metrics: the figures of GET /v1/metrics over every user, a page of the user directory
// at a time (oldest first). JSON: the figures of all the page's users merged exactly as one user's
// shards are (counts add, histograms add bucket by bucket), plus each user's headline figures. The
// Prometheus text: every series of the user's text once per user, labelled `user_id`, so a user whose
// shards do not answer in one scrape drops out of it (a gap, not a counter reset) and
// `sum without (user_id) (rate(scheduler_attempts_total[5m]))` aggregates across users.
//
// Bounded: one directory page (`limit` users, at most 100), one account read per user, and one
// metrics call per shard of each user, at most MAX_SHARD_CALLS in all: the page ends early at the user
// that would go past it, and next_cursor goes on from there (docs/architecture.md, "Metrics").
import { Hono } from "hono";
import { mergeShardMetrics, type ShardMetrics, type UserMetrics } from "../core/metrics";
import { adminMetricsText, PROMETHEUS_CONTENT_TYPE } from "../core/metrics-text";
import { encodeCursor } from "../index-store/cursor";
import type { DirectoryEntry } from "../index-store/user-directory";
import { log } from "../log";
import { homeStub, shardStub } from "../shard/address";
import { directoryPage } from "./admin-directory";
import type { AppEnv } from "./auth";
import { wantsText } from "./metrics";
import { AdminMetricsQuery } from "./schemas";
import { validated } from "./validate";

/** Mounted under /v1/admin/metrics, behind the admin guard. */
export const adminMetrics = new Hono<AppEnv>();

/**
 * Shard metrics calls one request makes at most (account reads not included: one per user, at most
 * 100). With the directory read, a page stays well under a Worker's 1,000 subrequests.
 */
export const MAX_SHARD_CALLS = 500;

/** What the cursors are bound to: a directory position of this listing, not of another. */
const SCOPE = "admin|metrics";

interface UserFigures {
  entry: DirectoryEntry;
  shards: number;
  parts: ShardMetrics[];
}

/**
 * The users one request covers: in directory order (null entries skipped), while their shard calls
 * fit `budget`; the first always does (a user has at most MAX_SHARDS = 256 shards). A user whose
 * account could not be read (`shards` null) costs no shard call and is reported unavailable.
 * `cutShort`: the page ends before its last entry, so the next page starts after the last covered.
 */
export function coverUsers<E>(
  candidates: readonly ({ entry: E; shards: number | null } | null)[],
  budget: number,
): { covered: { entry: E; shards: number | null }[]; cutShort: boolean } {
  const covered: { entry: E; shards: number | null }[] = [];
  let calls = 0;
  for (const c of candidates) {
    if (c === null) continue;
    if (covered.length > 0 && calls + (c.shards ?? 0) > budget) return { covered, cutShort: true };
    calls += c.shards ?? 0;
    covered.push(c);
  }
  return { covered, cutShort: false };
}

adminMetrics.get("/", async (c) => {
  const q = validated(AdminMetricsQuery, c.req.query(), "bad metrics query");
  const secret = c.get("secrets").CURSOR_SECRET;
  const page = await directoryPage(c, SCOPE, q.cursor, q.limit, "metrics");
  const accounts = await Promise.all(
    page.entries.map((e) =>
      homeStub(c.env, e.userId)
        .account()
        .catch(() => null),
    ),
  );
  const { covered, cutShort } = coverUsers(
    page.entries.map((entry, i) => {
      const found = accounts[i];
      // An entry whose account does not exist is a creation that failed after its listing: left out.
      if (found && !found.ok) return null;
      return { entry, shards: found ? found.principal.shards : null };
    }),
    MAX_SHARD_CALLS,
  );
  const figures = await Promise.all(
    covered.map(async ({ entry, shards }): Promise<UserFigures | null> => {
      if (shards === null) return null;
      try {
        const parts = await Promise.all(
          Array.from({ length: shards }, (_, n) => shardStub(c.env, entry.userId, n).metrics(q.range)),
        );
        return { entry, shards, parts };
      } catch (err) {
        log("admin_metrics_unavailable", { user_id: entry.userId, error: err });
        return null;
      }
    }),
  );
  const answered = figures.filter((f): f is UserFigures => f !== null);
  const unavailable = covered.filter((_, i) => figures[i] === null).map((u) => u.entry.userId);
  const lastCovered = covered.at(-1)?.entry;
  const nextAt = cutShort ? lastCovered : page.next ? page.entries.at(-1) : undefined;
  const next_cursor = nextAt
    ? await encodeCursor(secret, SCOPE, { createdAt: nextAt.createdAt, jobId: nextAt.userId })
    : null;
  const allParts = answered.flatMap((f) => f.parts);
  const now = allParts.length > 0 ? Math.max(...allParts.map((p) => p.now)) : Date.now();
  const perUser = answered.map((f) => ({ f, m: mergeShardMetrics(f.parts, now, q.range) }));

  if (wantsText(c)) {
    const text = adminMetricsText(
      perUser.map(({ f, m }) => ({ userId: f.entry.userId, metrics: m })),
      unavailable.length,
    );
    const headers: Record<string, string> = { "content-type": PROMETHEUS_CONTENT_TYPE };
    if (next_cursor) headers["x-next-cursor"] = next_cursor;
    return c.body(text, 200, headers);
  }
  const merged = mergeShardMetrics(allParts, now, q.range);
  return c.json({
    ...merged,
    pools: perUser.flatMap(({ f, m }) => m.pools.map((p) => ({ user_id: f.entry.userId, ...p }))),
    users: perUser.map(({ f, m }) => userLine(f, m)),
    unavailable,
    next_cursor,
  });
});

function userLine(f: UserFigures, m: UserMetrics) {
  return {
    user_id: f.entry.userId,
    name: f.entry.name,
    shards: f.shards,
    jobs: m.jobs,
    due_not_dispatched: m.due_not_dispatched,
    attempts: m.attempts,
    failures: m.failures,
    lateness_ms: m.lateness_ms,
  };
}
