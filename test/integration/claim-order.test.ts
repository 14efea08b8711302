// Claim order is the documented order whatever waits behind full pools: regression tests for the
// scan-bound bug (issue 7), where jobs blocked on a busy pool filled a bounded first scan and the
// plain jobs merged into it were claimed ahead of a higher-priority job for another pool.
import { describe, expect, it } from "vitest";
import type { NewJob } from "../../src/core/job";
import type { ShardDb, ShardTimings } from "../../src/shard/db";
import { claimDue } from "../../src/shard/sql/claim";
import { allocate, putPool } from "../../src/shard/sql/pools";
import { insertJob } from "../../src/shard/sql/submit";
import { createUser, fireAlarm, getJob, inShard, request, setShardClock, submit } from "../support/helpers";
import { newJobs } from "../support/new-job";

const T0 = Date.UTC(2030, 0, 1);

interface Guts {
  db: ShardDb;
  timings: ShardTimings;
}

const spec = newJobs("usr_claim", T0);

/** A fresh shard with pools `busy` (3, 2 units held by a running job) and `free` (1). */
function withBusyAndFree<R>(fn: (g: Guts) => R) {
  return inShard(`usr_claim_${crypto.randomUUID()}`, (shard) => {
    const g: Guts = shard.context;
    putPool(g.db, "busy", 3, T0);
    putPool(g.db, "free", 1, T0);
    allocate(g.db, "holder", 1, { busy: 2 });
    return fn(g);
  });
}

function add(g: Guts, id: string, fields: Partial<NewJob>) {
  expect(insertJob(g.db, spec(id, fields), undefined, T0)).toMatchObject({
    ok: true,
    replayed: false,
  });
}

describe("claimDue order (regressions)", () => {
  it("the counterexample: four blocked priority-90 jobs do not let priority 1 pass priority 80", async () => {
    for (const agingSeconds of [0, 1]) {
      const claimed = await withBusyAndFree((g) => {
        for (let i = 0; i < 4; i++) add(g, `blocked${i}`, { priority: 90, resources: { busy: 2 } });
        add(g, "hi", { priority: 80, resources: { free: 1 } });
        add(g, "lo", { priority: 1 });
        return claimDue(g.db, T0, { limit: 1, agingSeconds }, g.timings).claims.map((c) => c.id);
      });
      expect(claimed, `aging ${agingSeconds}`).toEqual(["hi"]);
    }
  });

  it("250 blocked, 300 low, 1 high: the high job is claimed first, whatever the batch size", async () => {
    for (const limit of [1, 49, 100, 400]) {
      const claimed = await withBusyAndFree((g) => {
        for (let i = 0; i < 250; i++)
          add(g, `b${String(i).padStart(3, "0")}`, { priority: 90, resources: { busy: 2 } });
        for (let i = 0; i < 300; i++) add(g, `l${String(i).padStart(3, "0")}`, { priority: 1 });
        add(g, "hi", { priority: 80, resources: { free: 1 } });
        return claimDue(g.db, T0, { limit, agingSeconds: 1 }, g.timings);
      });
      const ids = claimed.claims.map((c) => c.id);
      expect(ids[0], `limit ${limit}`).toBe("hi");
      // Then the low jobs, in id order (same priority, same run_at), and never a blocked one.
      expect(ids.slice(1)).toEqual(
        Array.from({ length: Math.min(limit - 1, 300) }, (_, i) => `l${String(i).padStart(3, "0")}`),
      );
      expect(claimed.more, `limit ${limit}: more due work`).toBe(limit - 1 < 300);
    }
  }, 30_000);

  it("a walk past many blocked jobs stops at the limit and resumes next cycle in order", async () => {
    const cycles = await withBusyAndFree((g) => {
      for (let i = 0; i < 30; i++)
        add(g, `b${String(i).padStart(2, "0")}`, { priority: 90, resources: { busy: 2 } });
      for (let i = 0; i < 5; i++) add(g, `f${i}`, { priority: 70 - i, resources: { free: 1 } });
      for (let i = 0; i < 5; i++) add(g, `l${i}`, { priority: 1 });
      const out: string[][] = [];
      for (let cycle = 0; cycle < 4; cycle++)
        out.push(
          claimDue(g.db, T0 + cycle, { limit: 2, agingSeconds: 0 }, g.timings).claims.map((c) => c.id),
        );
      return out;
    });
    // `free` holds one unit and nothing releases it: f0 takes it, f1 then reserves it in later cycles.
    expect(cycles).toEqual([["f0", "l0"], ["l1", "l2"], ["l3", "l4"], []]);
  });
});

describe("claim order through the API and the real alarm", () => {
  it("runs the priority-80 job in the first dispatch, before the 300 priority-1 jobs", async () => {
    const user = await createUser();
    const auth = user.auth;
    for (const [name, capacity] of [
      ["busy", 3],
      ["free", 1],
    ] as const) {
      const res = await request(`/v1/pools/${name}`, { method: "PUT", headers: auth, json: { capacity } });
      expect(res.status).toBe(200);
    }
    const due = new Date(T0).toISOString();
    // A running job holds 2 of busy's 3 units.
    await setShardClock(user.user_id, T0 - 60_000);
    const holder = await submit(user, {
      type: "noop",
      resources: { busy: 2 },
      run_at: new Date(T0 - 60_000).toISOString(),
    });
    expect(holder.status).toBe(201);
    expect((await fireAlarm(user.user_id)).map((m) => m.job_id)).toEqual([holder.body.id]);

    for (let i = 0; i < 250; i++)
      expect(
        (await submit(user, { type: "noop", priority: 90, run_at: due, resources: { busy: 2 } })).status,
      ).toBe(201);
    const low: string[] = [];
    for (let i = 0; i < 300; i++) {
      const res = await submit(user, { type: "noop", priority: 1, run_at: due });
      expect(res.status).toBe(201);
      low.push(res.body.id);
    }
    const hi = await submit(user, { type: "noop", priority: 80, run_at: due, resources: { free: 1 } });
    expect(hi.status).toBe(201);

    await setShardClock(user.user_id, T0);
    const first = new Set((await fireAlarm(user.user_id)).map((m) => m.job_id));
    expect(first.has(hi.body.id), "the priority-80 job goes out in the first cycle").toBe(true);
    expect((await getJob(user, hi.body.id)).status).toBe("queued");
    // One cycle claims a batch of 100 (the window of 200, the holder one of it, has room for more):
    // 99 low jobs besides it.
    expect(low.filter((id) => first.has(id)).length).toBe(99);
    // 552 submits through the app: seconds on a loaded 2-core machine.
  }, 60_000);
});
