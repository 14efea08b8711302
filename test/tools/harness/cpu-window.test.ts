// Where the CPU went over a scenario (tools/harness/cpu-window.ts): /proc/stat, thread stat lines and
// command lines parsed from fixed text, the arithmetic between two readings on made-up ones, and one
// real reading of this machine, which must find this process in its own group.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type CpuSnapshot,
  cpuBetween,
  cpuSnapshot,
  procStatBusy,
  shortCommand,
  type ThreadTimes,
  threadTimes,
} from "../../../tools/harness/cpu-window";

const reading = (
  at: number,
  machine: CpuSnapshot["machine"],
  processes: [number, string, number, ThreadTimes?][],
  harnessMs: number,
): CpuSnapshot => ({
  at,
  machine,
  processes: new Map(
    processes.map(([pid, command, cpuMs, main]) => [pid, { command, cpuMs, main: main ?? null }]),
  ),
  harness: { user: harnessMs * 1000, system: 0 },
});

describe("procStatBusy", () => {
  it("counts user, nice, system, irq, softirq and steal as busy; idle and iowait as not", () => {
    const text = "cpu  100 5 20 800 50 3 2 10 7 0\ncpu0 50 2 10 400 25 1 1 5 3 0\nintr 1 2\n";
    expect(procStatBusy(text)).toEqual({ busyMs: 1400, totalMs: 9900 });
  });

  it("is null without the aggregate line", () => {
    expect(procStatBusy("cpu0 1 2 3 4\n")).toBeNull();
    expect(procStatBusy("")).toBeNull();
  });
});

describe("shortCommand", () => {
  it("names node by its script, and anything else by its program", () => {
    const cmd = (...args: string[]) => `${args.join("\0")}\0`;
    expect(
      shortCommand(cmd("/x/node_modules/node/bin/node", "--no-warnings", "/x/wrangler-dist/cli.js", "dev")),
    ).toBe("node cli.js");
    expect(shortCommand(cmd("/x/bin/workerd", "serve", "--binary"))).toBe("workerd");
    expect(shortCommand(cmd("node"))).toBe("node");
    expect(shortCommand("")).toBe("?");
  });
});

describe("threadTimes", () => {
  // A stat line as Linux writes it (a comm with a space and a parenthesis), utime 700, stime 77,
  // delayacct_blkio_ticks 12; schedstat: on-CPU ns, run-queue ns, timeslices.
  const stat =
    "7470 (work (er)d) S 7460 7400 7400 0 -1 4194560 100 0 0 0 700 77 0 0 20 0 9 0 500 1000 200 " +
    "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 12 0 0 0 0 0 0 0 0 0 0";

  it("reads CPU, I/O-blocked (with delay accounting) and run-queue time", () => {
    expect(threadTimes(stat, "7770000000 1300000000 4242\n", true)).toEqual({
      cpuMs: 7770,
      blockedIoMs: 120,
      waitingMs: 1300,
    });
  });

  it("leaves out what the kernel does not keep", () => {
    expect(threadTimes(stat, null, false)).toEqual({ cpuMs: 7770, blockedIoMs: null, waitingMs: null });
  });
});

describe("cpuBetween", () => {
  it("says where a main thread's wall time went: running, blocked on I/O, waiting for a core", () => {
    const a = reading(0, null, [[1, "workerd", 0, { cpuMs: 0, blockedIoMs: 100, waitingMs: 50 }]], 0);
    const b = reading(
      10_000,
      null,
      [[1, "workerd", 7_700, { cpuMs: 7_700, blockedIoMs: 1_100, waitingMs: 1_350 }]],
      0,
    );
    expect(cpuBetween(a, b, 2).processes[0]?.main_thread).toEqual({
      running: 0.77,
      blocked_on_io: 0.1,
      waiting_for_cpu: 0.13,
    });
    const off = reading(
      10_000,
      null,
      [[1, "workerd", 7_700, { cpuMs: 7_700, blockedIoMs: null, waitingMs: 1_350 }]],
      0,
    );
    expect(cpuBetween(a, off, 2).processes[0]?.main_thread?.blocked_on_io).toBeNull();
  });

  it("gives the machine's busy cores, each process's and the harness's, busiest first", () => {
    const a = reading(
      0,
      { busyMs: 1000, totalMs: 10_000 },
      [
        [1, "workerd", 500],
        [2, "node cli.js", 100],
        [3, "gone", 5],
      ],
      50,
    );
    const b = reading(
      10_000,
      { busyMs: 18_000, totalMs: 30_000 },
      [
        [1, "workerd", 8_300],
        [2, "node cli.js", 1_500],
        [4, "new", 99],
      ],
      1_750,
    );
    expect(cpuBetween(a, b, 2)).toEqual({
      seconds: 10,
      machine_busy_cores: 1.7,
      cores: 2,
      system_cores: 0.92,
      processes: [
        { pid: 1, command: "workerd", cores: 0.78, main_thread: null },
        { pid: 2, command: "node cli.js", cores: 0.14, main_thread: null },
      ],
      harness_cores: 0.17,
    });
  });

  it("leaves the machine out when /proc/stat could not be read", () => {
    const a = reading(0, null, [], 0);
    expect(cpuBetween(a, reading(1000, null, [], 0), 2).machine_busy_cores).toBeNull();
  });

  it("reads this machine: this process in its own group, with its main thread; no group, no process", () => {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const ownGroup = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
    const snapshot = cpuSnapshot([ownGroup]);
    const self = snapshot.processes.get(process.pid);
    expect(self?.command).toMatch(/^node/);
    expect(self?.main?.cpuMs).toBeGreaterThanOrEqual(0);
    expect(self?.main?.waitingMs).not.toBeNull();
    expect(snapshot.machine?.totalMs).toBeGreaterThan(0);
    expect(cpuSnapshot([]).processes.size).toBe(0);
  });
});
