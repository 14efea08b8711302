// Where a machine's CPU went over a window: the whole machine (/proc/stat), each process of the system
// under test (its process groups: for the scheduler wrangler's node, the workerd that runs our Worker and
// the workerd of wrangler's proxy in front of it), and this harness (load driver and webhook target).
// A scenario that misses its target on a machine near its capacity reads differently from one that
// misses on an idle machine; the comparison records this beside each scenario's figures.
//
// cpuSnapshot(groups) → a reading now; cpuBetween(a, b, cores) → cores used between two readings.
// The parsers are pure (procStatBusy, shortCommand), so tests feed them fixed text.
import { readdirSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { round } from "./stats";

/** Linux's USER_HZ: /proc reports CPU time in hundredths of a second on every common architecture. */
const MS_PER_TICK = 10;

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

interface ProcessReading {
  command: string;
  cpuMs: number;
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
  let pids: string[] = [];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    // no /proc: the machine and process figures are left out
  }
  for (const pid of pids) {
    const stat = read(`/proc/${pid}/stat`);
    if (stat === null) continue;
    // pid (comm) state ppid pgrp … utime stime: comm may hold spaces, so fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || !groups.includes(Number(fields[2]))) continue;
    processes.set(Number(pid), {
      command: shortCommand(read(`/proc/${pid}/cmdline`) ?? ""),
      cpuMs: (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK,
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
  /** Its processes alive at both readings, busiest first. */
  processes: { pid: number; command: string; cores: number }[];
  /** This harness: the load driver and the webhook target. */
  harness_cores: number;
}

/** The cores used between readings `a` and `b` (b later), each to two decimals. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot, cores: number): CpuWindow {
  const ms = Math.max(1, b.at - a.at);
  const share = (cpuMs: number) => round(Math.max(0, cpuMs) / ms, 2);
  const used = [...b.processes].flatMap(([pid, after]) => {
    const before = a.processes.get(pid);
    return before ? [{ pid, command: after.command, cpuMs: after.cpuMs - before.cpuMs }] : [];
  });
  const processes = used
    .sort((x, y) => y.cpuMs - x.cpuMs)
    .map(({ pid, command, cpuMs }) => ({ pid, command, cores: share(cpuMs) }));
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
