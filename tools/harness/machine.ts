// The machine a measurement ran on, and its load: benchmarks share it with other work, so every result
// records the load average, and a run can first wait (bounded) for the machine to calm down.
import { execFileSync } from "node:child_process";
import os from "node:os";
import { nodeForWrangler } from "../../scripts/lib/wrangler.mjs";
import { wranglerVersion } from "./project";
import { round } from "./stats";
import { type Log, sleep } from "./util";

/** The 1-minute load average, to two decimals. */
export const load1 = () => round(os.loadavg()[0] ?? 0, 2);

/** The 1-, 5- and 15-minute load averages, to two decimals. */
export const loadAverage = () => os.loadavg().map((x) => round(x, 2));

/** Waits, at most 300 s, until the 1-minute load is ≤ `limit` (0: does not wait). */
export async function waitForLoad(limit: number, log: Log, who: string): Promise<void> {
  const until = Date.now() + 300_000;
  while (limit > 0 && load1() > limit && Date.now() < until) {
    log(`${who}: load ${load1()} > ${limit}, waiting (at most 300 s)`);
    await sleep(10_000);
  }
}

function versionOf(node: string): string | null {
  try {
    return execFileSync(node, ["--version"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return null;
  }
}

/** Cores, CPU, memory, system, both Nodes, wrangler and the load at the start, for a results file. */
export function machine() {
  return {
    nproc: os.availableParallelism(),
    cpu_model: os.cpus()[0]?.model ?? "unknown",
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    wrangler_node: versionOf(nodeForWrangler()),
    wrangler: wranglerVersion(),
    load_average_at_start: loadAverage(),
  };
}
