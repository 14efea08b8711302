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

/** Processes of group `pgid` that are alive (zombies excluded), from /proc; null where /proc is missing. */
function groupMembers(pgid: number): number[] | null {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return null;
  }
  const alive: number[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // pid (comm) state ppid pgrp ...; comm may contain spaces, so parse after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pgid && fields[0] !== "Z") alive.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return alive;
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
