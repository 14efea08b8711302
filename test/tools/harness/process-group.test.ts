// groupCpuMs reads a process group's CPU time from /proc: the benchmarks divide it by the jobs run.
import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import {
  groupCpuMs,
  groupGone,
  groupProcesses,
  signalGroup,
  threadCpuMs,
} from "../../../tools/harness/process-group";
import { poll } from "../../../tools/harness/util";

describe("groupCpuMs", () => {
  let pgid: number | null = null;

  afterEach(async () => {
    if (pgid !== null) {
      signalGroup(pgid, "SIGKILL");
      await groupGone(pgid);
    }
    pgid = null;
  });

  it("is 0 without a group and for a group that does not exist", () => {
    expect(groupCpuMs(null)).toBe(0);
    // Process ids are below 2^22 on Linux, so no group has this id.
    expect(groupCpuMs(2 ** 22 + 17)).toBe(0);
  });

  it("counts the CPU a busy group uses, and only grows", async () => {
    // A group leader that spins: its CPU time is what the function must see.
    const child = spawn(process.execPath, ["-e", "for (;;) {}"], { detached: true, stdio: "ignore" });
    pgid = child.pid ?? null;
    if (pgid === null) throw new Error("could not spawn the busy child");
    const group = pgid;
    const first = await poll(
      "the busy group's CPU time",
      async () => groupCpuMs(group),
      (ms) => ms >= 50,
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    const later = await poll(
      "more CPU time",
      async () => groupCpuMs(group),
      (ms) => ms > first,
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    expect(later).toBeGreaterThan(first);
  });
});

describe("groupProcesses and threadCpuMs", () => {
  let pgid: number | null = null;

  afterEach(async () => {
    if (pgid !== null) {
      signalGroup(pgid, "SIGKILL");
      await groupGone(pgid);
    }
    pgid = null;
  });

  it("list a group's processes with their command lines, and nothing for no group", () => {
    expect(groupProcesses(2 ** 22 + 17)).toEqual([]);
    expect(threadCpuMs(2 ** 22 + 17)).toEqual([]);
  });

  it("read the CPU time of each thread: a spinning thread's grows, and the others' do not count in it", async () => {
    const child = spawn(process.execPath, ["-e", "/* spin-for-threads */ for (;;) {}"], {
      detached: true,
      stdio: "ignore",
    });
    pgid = child.pid ?? null;
    if (pgid === null) throw new Error("could not spawn the busy child");
    const leader = pgid;
    expect(groupProcesses(leader)).toEqual([
      { pid: leader, command: expect.stringContaining("spin-for-threads") },
    ]);
    // The main thread (its tid is the pid) spins; Node's other threads (V8 platform, libuv) hardly run.
    const main = () => threadCpuMs(leader).find((t) => t.tid === leader)?.cpuMs ?? 0;
    const first = await poll(
      "the main thread's CPU time",
      async () => main(),
      (ms) => ms >= 50,
      {
        timeoutMs: 20_000,
        intervalMs: 50,
      },
    );
    await poll(
      "more of it",
      async () => main(),
      (ms) => ms > first,
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    const threads = threadCpuMs(leader);
    expect(threads.length).toBeGreaterThan(1);
    const spinning = threads.find((t) => t.tid === leader);
    const others = threads.filter((t) => t.tid !== leader).reduce((sum, t) => sum + t.cpuMs, 0);
    expect(spinning?.name).toBe("node");
    expect(spinning?.cpuMs).toBeGreaterThan(others);
  });
});
