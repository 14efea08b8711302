// A server started with `detached: true` leads its own process group: dev.mjs, wrangler's node and both
// workerd processes. Signals go to the whole group, so nothing of it can outlive a stop or a crash.
import { readdirSync, readFileSync } from "node:fs";
import { sleep } from "./util";

/** Sends `signal` to every process in group `pgid`; a group already gone is not an error. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
  }
}

export interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  /** User + system CPU time, in clock ticks. */
  cpuTicks: number;
}

/** Linux's USER_HZ: /proc reports CPU time in hundredths of a second on every common architecture. */
export const MS_PER_TICK = 10;

/**
 * The fields of a /proc stat line (a process's or a thread's) after `pid (comm)`: comm may contain
 * spaces and parentheses, so they start after the last ')'. Field N of proc(5) is at index N - 3.
 */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** User + system CPU time (ms) from a stat line's fields (statFields). */
export const statCpuMs = (fields: readonly string[]) =>
  (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;

/** Every process's /proc/<pid>/stat, parsed; null where /proc is missing. */
export function procStats(): ProcStat[] | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const stats: ProcStat[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // pid (comm) state ppid pgrp ... utime stime
      const fields = statFields(stat);
      stats.push({
        pid: Number(name),
        state: fields[0] ?? "",
        pgrp: Number(fields[2]),
        cpuTicks: Number(fields[11]) + Number(fields[12]),
      });
    } catch {
      // exited while we looked
    }
  }
  return stats;
}

/** Processes of group `pgid` that are alive (zombies excluded), from /proc; null where /proc is missing. */
function groupMembers(pgid: number): number[] | null {
  return (
    procStats()
      ?.filter((p) => p.pgrp === pgid && p.state !== "Z")
      .map((p) => p.pid) ?? null
  );
}

/**
 * CPU time (ms, user + system) used so far by the processes of group `pgid` (all of a server: workerd,
 * wrangler, dev.mjs), from /proc; 0 for no group. A process that has exited no longer counts, so read
 * it around a window in which the group's members live on.
 */
export function groupCpuMs(pgid: number | null): number {
  if (pgid === null) return 0;
  const members = procStats()?.filter((p) => p.pgrp === pgid) ?? [];
  return members.reduce((ms, p) => ms + p.cpuTicks * MS_PER_TICK, 0);
}

/** The live processes of group `pgid` with their command lines (arguments joined by spaces); [] without /proc. */
export function groupProcesses(pgid: number): { pid: number; command: string }[] {
  const out: { pid: number; command: string }[] = [];
  for (const p of groupMembers(pgid) ?? []) {
    try {
      out.push({ pid: p, command: readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").join(" ").trim() });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

export interface ThreadCpu {
  tid: number;
  /** The thread's name (comm), e.g. "workerd" or "v8:ProfEvntProc". */
  name: string;
  /** User + system CPU time so far (ms). */
  cpuMs: number;
}

/**
 * CPU time (ms, user + system) of each thread of process `pid`, from /proc/<pid>/task; [] when the
 * process is gone or there is no /proc. Read it twice around a window: the busiest thread's difference
 * is how much of one core that thread used (workerd runs every isolate of a `wrangler dev` on one).
 */
export function threadCpuMs(pid: number): ThreadCpu[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: ThreadCpu[] = [];
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      out.push({ tid: Number(tid), name, cpuMs: statCpuMs(statFields(stat)) });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function groupExists(pgid: number): boolean {
  const members = groupMembers(pgid);
  if (members !== null) return members.length > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) until no live process is left in group `pgid`; false if some still are. */
export async function groupGone(pgid: number, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupExists(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}
