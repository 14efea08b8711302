// A plain submit re-arms only when its job can move the alarm earlier (AlarmTimer.rearmFrom, issue 16):
// with the alarm already at or before the new job's deadline and its index copy, the submit reads
// nothing for the re-arm and the alarm stays; a job due before the alarm moves it.
import { describe, expect, it } from "vitest";
import { createUser, getJob, inShard, setShardClock, submit, withShardBindings } from "../support/helpers";

const T = Date.parse("2030-06-01T00:00:00Z");
const at = (ms: number) => new Date(T + ms).toISOString();
const alarmOf = (userId: string) => inShard(userId, (_s, state) => state.storage.getAlarm());

describe("the re-arm after a plain submit", () => {
  it("leaves an alarm that is already earlier, and moves one that is later", async () => {
    const user = await createUser();
    await setShardClock(user.user_id, T);
    expect((await submit(user, { type: "noop", run_at: at(3_600_000) })).status).toBe(201);
    // The first job's index copy (INDEX_FLUSH_DELAY_MS ahead) is the earliest deadline.
    const first = await alarmOf(user.user_id);
    expect(first).not.toBeNull();
    expect(first).toBeLessThan(T + 3_600_000);

    // A later job cannot be earlier than that: the alarm stays.
    await setShardClock(user.user_id, T + 10);
    expect((await submit(user, { type: "noop", run_at: at(7_200_000) })).status).toBe(201);
    expect(await alarmOf(user.user_id)).toBe(first);

    // A job due before it moves it to its run_at.
    const soon = (first ?? 0) - T - 500;
    expect((await submit(user, { type: "noop", run_at: at(soon) })).status).toBe(201);
    expect(await alarmOf(user.user_id)).toBe(T + soon);
  });

  it("reads nothing when the alarm is at or before the floor, and recomputes it otherwise", async () => {
    const user = await createUser();
    await setShardClock(user.user_id, T);
    expect((await submit(user, { type: "noop", run_at: at(3_600_000) })).status).toBe(201);
    await inShard(user.user_id, async (shard, state) => {
      const alarm = (await state.storage.getAlarm()) ?? 0;
      shard.sqlMeter.take();
      await shard.context.rearmFrom(alarm);
      expect(shard.sqlMeter.take(), "no statement for an alarm at the floor").toEqual({
        sqlRowsRead: 0,
        sqlRowsWritten: 0,
      });
      await shard.context.rearmFrom(alarm - 1);
      expect(shard.sqlMeter.take().sqlRowsRead, "the wake recomputed below the alarm").toBeGreaterThan(0);
      // Recomputed, the earliest deadline is still the same alarm.
      expect(await state.storage.getAlarm()).toBe(alarm);
    });
  });

  it("re-arms in full after a job dispatched at submit, whose failed send put it back due in a second", async () => {
    const user = await createUser();
    await setShardClock(user.user_id, T);
    expect((await submit(user, { type: "noop", run_at: at(3_600_000) })).status).toBe(201);
    const first = (await alarmOf(user.user_id)) ?? 0;
    // The queue refuses: the due-now job goes back to scheduled, due SEND_RETRY_MS (1 s) from now.
    const failing = {
      send: async () => {
        throw new Error("queue down");
      },
      sendBatch: async () => {
        throw new Error("queue down");
      },
    } as unknown as Queue<unknown>;
    await withShardBindings(user.user_id, { DISPATCH: failing });
    await setShardClock(user.user_id, T + 10);
    const { body: job } = await submit(user, { type: "noop" });
    const back = await getJob(user, job.id);
    expect(back.status).toBe("scheduled");
    const due = T + 10 + 1000;
    expect(first, "the index copy's alarm was later than the job put back").toBeGreaterThan(due);
    expect(await alarmOf(user.user_id)).toBeLessThanOrEqual(due);
  });
});
