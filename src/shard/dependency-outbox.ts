// The alarm's part of dependencies across shards: sends the due messages of the outbox
// (dependency_messages, src/shard/sql/dependencies.ts) to the shards they are for, one request per shard
// and kind, and forgets each once that shard answered. A `subscribe` answer that the dependency has
// already finished is applied here at once. A shard that cannot be reached leaves its messages for
// their next deadline (backed off): delayed, never lost.
import { sql } from "drizzle-orm";
import { shardOfJobId } from "../core/ids";
import { log } from "../log";
import { shardStub } from "./address";
import type { ShardContext } from "./context";
import type { DependencyMessageRow } from "./schema";
import { jobs } from "./schema";
import { claimDependencyMessages, forgetDependencyMessage, settleDependency } from "./sql/dependencies";

/** Messages sent per alarm run. */
export const MESSAGE_BATCH = 100;

/** The shard a message is for: a subscribe goes to the dependency's, a settle to the dependent's. */
const targetOf = (m: DependencyMessageRow) => shardOfJobId(m.kind === "subscribe" ? m.depId : m.jobId);

/** Sends what is due; returns how many messages it sent (a full batch: more may be due). */
export async function sendDependencyMessages(s: ShardContext, now: number): Promise<number> {
  const due = claimDependencyMessages(s.db, now, MESSAGE_BATCH);
  if (due.length === 0) return 0;
  // Every job of a shard is its user's: any row names the user whose shards these are.
  const user = s.db
    .select({ userId: jobs.userId })
    .from(jobs)
    .where(sql`"jobs"."rowid" = (select min(rowid) from jobs)`)
    .get();
  if (!user) return due.length;
  const groups = new Map<string, DependencyMessageRow[]>();
  for (const m of due) {
    const key = `${targetOf(m)}:${m.kind}`;
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const first = group[0] as DependencyMessageRow;
      const shard = targetOf(first);
      if (shard === null) return;
      try {
        const stub = shardStub(s.env, user.userId, shard);
        if (first.kind === "settle") {
          await stub.settleDependents(
            group.map(({ jobId, depId, outcome }) => ({ jobId, depId, outcome: outcome ?? "failed" })),
          );
          for (const m of group) forgetDependencyMessage(s.db, m);
          return;
        }
        const states = await stub.subscribeDependents(group.map(({ jobId, depId }) => ({ jobId, depId })));
        const at = s.now();
        group.forEach((m, i) => {
          forgetDependencyMessage(s.db, m);
          const state = states[i];
          if (state !== undefined && state !== "pending")
            settleDependency(s.db, m.jobId, m.depId, state, at, s.timings);
        });
      } catch (error) {
        log("dependency_messages_failed", {
          shard: s.name,
          to: shard,
          kind: first.kind,
          messages: group.length,
          error,
        });
      }
    }),
  );
  return due.length;
}
