// Listing from the D1 index: newest first, keyset pagination (no OFFSET), filtered by status, type,
// name prefix, labels and a created_at range. Name and labels are read from the row's doc (the job object) rather than
// columns of their own: the filters read through the user's range like status and type do, and a
// write stays one row (docs/architecture.md, "The D1 index").
import { and, desc, eq, gte, lt, or, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import type { JobView } from "../core/job";
import type { Position } from "./cursor";
import { jobIndex } from "./schema";

export interface ListQuery {
  userId: string;
  status?: string;
  type?: string;
  /** The job's name starts with this (case-sensitive). */
  namePrefix?: string;
  /** Every one of these labels is on the job. */
  labels?: { key: string; value: string }[];
  /** Created at or after this (epoch ms). */
  createdAfter?: number;
  /** Created strictly before this (epoch ms). */
  createdBefore?: number;
  limit: number;
  after?: Position;
}

/** One page and the position to continue from (null on the last page). */
export async function listJobs(
  d1: D1Database,
  q: ListQuery,
): Promise<{ jobs: JobView[]; next: Position | null }> {
  const filters: (SQL | undefined)[] = [eq(jobIndex.userId, q.userId)];
  if (q.status) filters.push(eq(jobIndex.status, q.status));
  if (q.type) filters.push(eq(jobIndex.type, q.type));
  if (q.namePrefix !== undefined) {
    // substr, not LIKE: exact and case-sensitive, with no wildcard characters to escape.
    const name = sql`json_extract(${jobIndex.doc}, '$.name')`;
    filters.push(sql`substr(${name}, 1, length(${q.namePrefix})) = ${q.namePrefix}`);
  }
  for (const { key, value } of q.labels ?? []) {
    // json_each matches the key as data, so keys with dots or quotes need no JSON-path escaping.
    filters.push(
      sql`exists (select 1 from json_each(${jobIndex.doc}, '$.labels') as l where l.key = ${key} and l.value = ${value})`,
    );
  }
  // Bounds on the key's second column: the keyset's own range, read through the primary key.
  if (q.createdAfter !== undefined) filters.push(gte(jobIndex.createdAt, q.createdAfter));
  if (q.createdBefore !== undefined) filters.push(lt(jobIndex.createdAt, q.createdBefore));
  if (q.after) {
    filters.push(
      or(
        lt(jobIndex.createdAt, q.after.createdAt),
        and(eq(jobIndex.createdAt, q.after.createdAt), lt(jobIndex.jobId, q.after.jobId)),
      ),
    );
  }
  const rows = await drizzle(d1)
    .select({ jobId: jobIndex.jobId, createdAt: jobIndex.createdAt, doc: jobIndex.doc })
    .from(jobIndex)
    .where(and(...filters))
    .orderBy(desc(jobIndex.createdAt), desc(jobIndex.jobId))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    jobs: page.map((r) => withPolicyDefaults(JSON.parse(r.doc) as JobView)),
    next: rows.length > q.limit && last ? { createdAt: last.createdAt, jobId: last.jobId } : null,
  };
}

/**
 * A copy made before the job object carried issue 18's fields (shard migration 0017) or issue 19's
 * (0018) lacks them; the job has their defaults (it was submitted before they existed), so the
 * listing shows those.
 */
const LATER_FIELD_DEFAULTS = {
  flow_control: null,
  debounce: null,
  overlap: "skip",
  catch_up: "none",
  catch_up_window_seconds: 3600,
  on_dependency_failure: "fail",
} as const satisfies Partial<JobView>;

function withPolicyDefaults(doc: JobView): JobView {
  // Fresh arrays per job: a listed job is the caller's to change.
  const stored: Partial<JobView> = doc;
  return { ...LATER_FIELD_DEFAULTS, depends_on: [], blocked_by: [], ...stored } as JobView;
}
