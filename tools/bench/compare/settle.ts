// Each scenario starts on a quiet system: what the previous one left running (the scheduler's index
// copies of 20,000 batch-submitted jobs, a peer's Redis rewriting its AOF) would
// otherwise be measured as the next scenario's lateness. Before each scenario the comparison waits
// until the system's processes use under QUIET_SHARE of a core over a window, twice in a row, or until
// MAX_WAIT_MS, and records how long it waited. Both systems wait the same way.
import { groupCpuMs } from "../../harness/process-group";
import { round } from "../../harness/stats";
import { sleep } from "../../harness/util";

const WINDOW_MS = 1000;
/** A core's share under which the system counts as quiet (wrangler's and workerd's idle timers use ~1 %). */
export const QUIET_SHARE = 0.05;
const QUIET_WINDOWS = 2;
const MAX_WAIT_MS = 120_000;

export interface Settled {
  /** Seconds waited before the scenario started. */
  waited_s: number;
  /** The last window's CPU share of one core (all the system's processes). */
  cpu_share: number;
  /** False when MAX_WAIT_MS passed first: the scenario ran on a system still busy. */
  quiet: boolean;
}

/** The CPU share of one core that `cpuMs` (CPU time read at two moments `ms` apart) stands for. */
export const cpuShare = (cpuMsBefore: number, cpuMsAfter: number, ms: number) =>
  ms <= 0 ? 0 : Math.max(0, cpuMsAfter - cpuMsBefore) / ms;

/** Waits until `groups` (process groups) are quiet; `cpuMs` reads their CPU time (tests inject it). */
export async function settle(
  groups: () => number[],
  o: { cpuMs?: (groups: number[]) => number; now?: () => number; wait?: (ms: number) => Promise<void> } = {},
): Promise<Settled> {
  const cpuMs = o.cpuMs ?? ((gs: number[]) => gs.reduce((sum, g) => sum + groupCpuMs(g), 0));
  const now = o.now ?? Date.now;
  const wait = o.wait ?? sleep;
  const start = now();
  let quietWindows = 0;
  let share = 0;
  while (quietWindows < QUIET_WINDOWS && now() - start < MAX_WAIT_MS) {
    const [before, t0] = [cpuMs(groups()), now()];
    await wait(WINDOW_MS);
    share = cpuShare(before, cpuMs(groups()), now() - t0);
    quietWindows = share < QUIET_SHARE ? quietWindows + 1 : 0;
  }
  return {
    waited_s: round((now() - start) / 1000, 1),
    cpu_share: round(share, 3),
    quiet: quietWindows >= QUIET_WINDOWS,
  };
}
