// Single submits of jobs due later write in the next turn, together (src/core/turn-gate.ts,
// docs/architecture.md "Single submits of jobs due later share a commit"); jobs due now, or within a
// second, write at once. Called on the object itself, so the moment of each write is seen exactly.
import { describe, expect, it } from "vitest";
import { TurnGate } from "../../src/core/turn-gate";
import type { TaskShard } from "../../src/shard/task-shard";
import { createUser, inShard } from "../support/helpers";
import { newJobs } from "../support/new-job";

const written = (state: DurableObjectState, id: string) =>
  state.storage.sql.exec("select count(*) as n from jobs where id = ?", id).one().n;

/** The shard's submit turn, replaced by one that counts the turns it schedules. */
function countTurns(shard: TaskShard): { turns: () => number } {
  let turns = 0;
  Object.assign(shard, {
    submitTurn: new TurnGate((fn) => {
      turns += 1;
      setTimeout(fn, 0);
    }),
  });
  return { turns: () => turns };
}

describe("single submits share a turn when their jobs are due later", () => {
  it("submits sent at once of jobs due in an hour write in one turn, in the order they came", async () => {
    const user = await createUser();
    await inShard(user.user_id, async (shard, state) => {
      const counted = countTurns(shard);
      const job = newJobs(user.user_id, Date.now() + 3_600_000);
      const ids = Array.from({ length: 8 }, (_, i) => `job_0_turn${i}`);
      const submits = ids.map((id) => shard.submit(job(id)));
      // Not written yet: each waits for the turn.
      expect(ids.map((id) => written(state, id))).toEqual(ids.map(() => 0));
      const outs = await Promise.all(submits);
      expect(outs.every((o) => o.ok)).toBe(true);
      expect(counted.turns()).toBe(1);
      const order = state.storage.sql
        .exec<{ id: string }>("select id from jobs where id like 'job_0_turn%' order by rowid")
        .toArray()
        .map((r) => r.id);
      expect(order).toEqual(ids);
    });
  });

  it("a job due now, or within a second, is written at once, before its submit first waits", async () => {
    const user = await createUser();
    await inShard(user.user_id, async (shard, state) => {
      const counted = countTurns(shard);
      const now = newJobs(user.user_id, Date.now());
      const soon = newJobs(user.user_id, Date.now() + 900);
      const submits = [shard.submit(now("job_0_now")), shard.submit(soon("job_0_soon"))];
      expect([written(state, "job_0_now"), written(state, "job_0_soon")]).toEqual([1, 1]);
      await Promise.all(submits);
      expect(counted.turns()).toBe(0);
    });
  });

  it("idempotency holds across one turn: the same key sent twice at once makes one job", async () => {
    const user = await createUser();
    await inShard(user.user_id, async (shard) => {
      const job = newJobs(user.user_id, Date.now() + 3_600_000);
      const idem = { key: "once", bodyHash: "h1", shards: 1 };
      const [a, b] = await Promise.all([
        shard.submit(job("job_0_idem_a"), idem),
        shard.submit(job("job_0_idem_b"), idem),
      ]);
      expect(a.ok && b.ok).toBe(true);
      if (!a.ok || !b.ok) return;
      expect([a.replayed, b.replayed]).toEqual([false, true]);
      expect(b.view.id).toBe(a.view.id);
    });
  });
});
