// Phase 3, kill/restart (runs alongside the load): one SIGKILL to the server's whole process group in
// each equal segment of the middle 70 % of the window, never sooner than 3 s after the last restart;
// each time the soak waits until no process of the group is left, restarts on the same state and port
// and waits for /v1/health. Nothing is flushed: the local queue's messages die with the process.
import { sleep } from "../../harness/util";
import type { Kill } from "../lib/types";
import type { Soak } from "./start";

export interface Killer {
  kills: Kill[];
  /** Settles when the last kill's restart is healthy; rejects if a restart failed. */
  done: Promise<void>;
  /** The restart that failed, if one did (then nothing else should wait on the server). */
  failure(): unknown;
}

/**
 * When each kill is planned, as an offset from the start of the window: a point (drawn) in each equal
 * segment of the middle 70 %. A kill goes later than planned when the restart before it took long
 * (never sooner than 3 s after the last restart).
 */
export function plannedKills(draws: readonly number[], windowMs: number): number[] {
  return draws.map((draw, i) => {
    const segStart = windowMs * (0.15 + (0.7 * i) / draws.length);
    const segEnd = windowMs * (0.15 + (0.7 * (i + 1)) / draws.length);
    return segStart + draw * (segEnd - segStart);
  });
}

export function startKills(soak: Soak, window: { T0: number; windowMs: number }, draws: number[]): Killer {
  const { server, target, log, opts } = soak;
  const { T0, windowMs } = window;
  const kills: Kill[] = [];
  let failed: unknown = null;
  const planned = plannedKills(draws.slice(0, opts.kills), windowMs);
  const done = (async () => {
    let lastReady = 0;
    for (let i = 0; i < opts.kills; i++) {
      const at = Math.max(T0 + (planned[i] ?? 0), lastReady + 3_000);
      await sleep(at - Date.now());
      const openAtKill = target.inFlight();
      const deliveredBefore = target.deliveries.length;
      const killAt = Date.now();
      await server.crash();
      const goneAt = Date.now();
      await server.start();
      await server.ready(180_000);
      const readyAt = Date.now();
      lastReady = readyAt;
      kills.push({
        at: killAt,
        goneAt,
        readyAt,
        downMs: readyAt - killAt,
        atWindowS: Math.round((killAt - T0) / 100) / 10,
        targetRequestsOpenAtKill: openAtKill,
        deliveriesBeforeKill: deliveredBefore,
      });
      log(
        `kill ${i + 1}: SIGKILL at +${((killAt - T0) / 1000).toFixed(1)} s of the window; healthy again after ${((readyAt - killAt) / 1000).toFixed(1)} s`,
      );
    }
  })();
  // A restart that fails ends the soak (the load phase awaits `done`); meanwhile the submits stop.
  done.catch((err) => {
    failed = err;
  });
  return { kills, done, failure: () => failed };
}
