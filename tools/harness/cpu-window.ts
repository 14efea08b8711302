// Where a machine's CPU went over a window: the whole machine (/proc/stat), each process of the system
// under test (its process groups: for the scheduler wrangler's node, the workerd that runs our Worker and
// the workerd of wrangler's proxy in front of it), and this harness (load driver and webhook target).
// A scenario that misses its target on a machine near its capacity reads differently from one that
// misses on an idle machine; the comparison records this beside each scenario's figures.
//
// Each process's main thread (workerd runs every isolate of a `wrangler dev` on it) is also read for
// where its wall time went: running, blocked on I/O (an fsync: every Durable Object and D1 commit of a
// disk-backed state makes one on that thread), or runnable but waiting for a core the machine's other
// work holds. A thread whose three add up to ~1 is saturated, however idle its CPU share alone looks.
// Blocked time needs the kernel's delay accounting (`sysctl kernel.task_delayacct=1`); without it that
// part is null.
//
// cpuSnapshot(groups) → a reading now; cpuBetween(a, b, cores) → cores used between two readings.
// The parsers are pure (procStatBusy, shortCommand, threadTimes), so tests feed them fixed text.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { MS_PER_TICK, procStats, statCpuMs, statFields } from "./process-group";
import { round } from "./stats";

/** Busy and total CPU time (ms, all cores) from /proc/stat's first line; null if it is not there. */
export function procStatBusy(procStat: string): { busyMs: number; totalMs: number } | null {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (!line) return null;
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map((x) => Number(x) || 0);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  return { busyMs: busy * MS_PER_TICK, totalMs: (busy + (idle ?? 0) + (iowait ?? 0)) * MS_PER_TICK };
}

/**
 * A process's name for a results file, from its NUL-separated command line: the program's file name,
 * and for node the script it runs (`node wrangler-dist/cli.js` → "node cli.js").
 */
export function shortCommand(cmdline: string): string {
  const args = cmdline.split("\0").filter((a) => a !== "");
  const program = basename(args[0] ?? "?");
  if (program !== "node") return program;
  const script = args.slice(1).find((a) => !a.startsWith("-") && /\.(c|m)?[jt]s$/.test(a));
  return script ? `node ${basename(script)}` : "node";
}

/** A thread's CPU, I/O-blocked and run-queue time so far (ms); null where not kept. */
export interface ThreadTimes {
  cpuMs: number;
  blockedIoMs: number | null;
  waitingMs: number | null;
}

/**
 * From a thread's /proc stat line and schedstat text: utime + stime, delayacct_blkio_ticks (field 42,
 * kept only when `delayAccounting`) and the time runnable but not running (schedstat's second field, ns).
 */
export function threadTimes(stat: string, schedstat: string | null, delayAccounting: boolean): ThreadTimes {
  const fields = statFields(stat);
  const waitingNs = Number(schedstat?.trim().split(/\s+/)[1]);
  return {
    cpuMs: statCpuMs(fields),
    // delayacct_blkio_ticks, field 42
    blockedIoMs: delayAccounting ? Number(fields[39]) * MS_PER_TICK : null,
    waitingMs: Number.isFinite(waitingNs) ? waitingNs / 1e6 : null,
  };
}

interface ProcessReading {
  command: string;
  cpuMs: number;
  /** Its main thread (tid = pid). */
  main: ThreadTimes | null;
}

export interface CpuSnapshot {
  at: number;
  machine: { busyMs: number; totalMs: number } | null;
  /** By pid: the live processes of the groups asked for. */
  processes: Map<number, ProcessReading>;
  /** This process (the harness): user + system, µs. */
  harness: NodeJS.CpuUsage;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}

/** A reading of the machine, the processes of `groups` (process group ids) and this harness, now. */
export function cpuSnapshot(groups: readonly number[]): CpuSnapshot {
  const processes = new Map<number, ProcessReading>();
  const delayAccounting = read("/proc/sys/kernel/task_delayacct")?.trim() === "1";
  // No /proc: the machine and process figures are left out.
  for (const { pid, state, pgrp, cpuTicks } of procStats() ?? []) {
    if (state === "Z" || !groups.includes(pgrp)) continue;
    const mainStat = read(`/proc/${pid}/task/${pid}/stat`);
    processes.set(pid, {
      command: shortCommand(read(`/proc/${pid}/cmdline`) ?? ""),
      cpuMs: cpuTicks * MS_PER_TICK,
      main:
        mainStat === null
          ? null
          : threadTimes(mainStat, read(`/proc/${pid}/task/${pid}/schedstat`), delayAccounting),
    });
  }
  const procStat = read("/proc/stat");
  return {
    at: Date.now(),
    machine: procStat === null ? null : procStatBusy(procStat),
    processes,
    harness: process.cpuUsage(),
  };
}

export interface CpuWindow {
  seconds: number;
  /** Cores the whole machine kept busy (of `cores`), null without /proc. */
  machine_busy_cores: number | null;
  cores: number;
  /** Cores the system under test used, all its processes. */
  system_cores: number;
  /**
   * Its processes alive at both readings, busiest first, each with where its main thread's wall time
   * went (shares of the window: running, blocked on I/O, waiting for a core; null parts not kept).
   */
  processes: { pid: number; command: string; cores: number; main_thread: ThreadShares | null }[];
  /** This harness: the load driver and the webhook target. */
  harness_cores: number;
}

export interface ThreadShares {
  running: number;
  blocked_on_io: number | null;
  waiting_for_cpu: number | null;
}

/** The cores used between readings `a` and `b` (b later), each to two decimals. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot, cores: number): CpuWindow {
  const ms = Math.max(1, b.at - a.at);
  const share = (cpuMs: number) => round(Math.max(0, cpuMs) / ms, 2);
  const part = (after: number | null | undefined, before: number | null | undefined) =>
    after === null || after === undefined || before === null || before === undefined
      ? null
      : share(after - before);
  const used = [...b.processes].flatMap(([pid, after]) => {
    const before = a.processes.get(pid);
    if (!before) return [];
    const [x, y] = [before.main, after.main];
    const main_thread =
      x && y
        ? {
            running: share(y.cpuMs - x.cpuMs),
            blocked_on_io: part(y.blockedIoMs, x.blockedIoMs),
            waiting_for_cpu: part(y.waitingMs, x.waitingMs),
          }
        : null;
    return [{ pid, command: after.command, cpuMs: after.cpuMs - before.cpuMs, main_thread }];
  });
  const processes = used
    .sort((x, y) => y.cpuMs - x.cpuMs)
    .map(({ pid, command, cpuMs, main_thread }) => ({ pid, command, cores: share(cpuMs), main_thread }));
  const machine =
    a.machine && b.machine && b.machine.totalMs > a.machine.totalMs
      ? round(((b.machine.busyMs - a.machine.busyMs) / (b.machine.totalMs - a.machine.totalMs)) * cores, 2)
      : null;
  const harnessUs = b.harness.user + b.harness.system - (a.harness.user + a.harness.system);
  return {
    seconds: round(ms / 1000, 1),
    machine_busy_cores: machine,
    cores,
    system_cores: share(used.reduce((sum, p) => sum + p.cpuMs, 0)),
    processes,
    harness_cores: share(harnessUs / 1000),
  };
}
