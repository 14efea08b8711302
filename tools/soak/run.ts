// Crash-restart soak: `wrangler dev` (started as `npm run dev` starts it) on a temporary persisted state
// directory; thousands of http jobs from many users (one-shot, recurring, always failing, hanging past
// their timeout) against a local target that records every delivery; the server's whole process group
// killed with SIGKILL at random points mid-run and restarted on the same state; then a bounded drain
// and a check of every job against the target's log and the D1 listing.
//
//   npm run soak -- [run] [--jobs 5000] [--users 50] [--kills 2] [--duration 60] [--seed N] [...]
//   npm run soak:ci                 # 300 jobs, 10 users, 1 kill: a couple of minutes
//
// Phases (phases/): start → load, with kill/restart alongside → drain → settle → verify → report.
// Exit status: 0 when every must-be-0 figure is 0; 1 when one is not; 2 when the soak itself failed
// (server would not start, watchdog). Progress goes to stderr, the JSON summary to stdout (and --out).
// Traffic goes to 127.0.0.1 only; every loop is bounded in count and time, a watchdog ends the run
// regardless, and the server's process group is killed on every way out.
import type { CreatedUser } from "../harness/api-types";
import { guardRun } from "../harness/run-guard";
import { makeLog } from "../harness/util";
import { options } from "./options";
import { drain } from "./phases/drain";
import { createUsers, load } from "./phases/load";
import { keepRecords, publish } from "./phases/report";
import { settle } from "./phases/settle";
import { soakSession, start } from "./phases/start";
import { type Summary, verify } from "./phases/verify";

export async function main(argv: string[]): Promise<number> {
  const opts = options(argv);
  const startedAt = Date.now();
  const log = makeLog(startedAt);
  const users: CreatedUser[] = [];
  const session = soakSession(opts, users);
  let keep = opts.keepState;
  const keptNote = () =>
    process.stderr.write(`soak: state, server log and raw records kept in ${session.dir}\n`);

  const guard = guardRun({
    maxSeconds: opts.maxSeconds,
    watchdogExit: 2,
    stop: (reason) => {
      session.keepState = true;
      session.closeNow();
      keptNote();
      process.stderr.write(`soak: ${reason.startsWith("watchdog") ? reason : `stopped by ${reason}`}\n`);
    },
  });

  const run = async (): Promise<Summary> => {
    const soak = await start(opts, session, users, log);
    await createUsers(soak);
    const loaded = await load(soak);
    const drainS = await drain(soak, loaded.jobs);
    const settled = await settle(soak, loaded.jobs);
    const { summary, deliveries } = verify(soak, startedAt, loaded, drainS, settled);
    if (!summary.pass) keep = true;
    if (keep) keepRecords(session.dir, loaded.jobs, deliveries, loaded.kills);
    return summary;
  };

  let code = 0;
  let summary: Summary | null = null;
  try {
    summary = await run();
    code = summary.pass ? 0 : 1;
  } catch (err) {
    keep = true;
    process.stderr.write(`soak: ${(err as Error).stack ?? err}\n`);
    const tail = (() => {
      try {
        return session.server.tail();
      } catch {
        return null;
      }
    })();
    if (tail !== null) process.stderr.write(`--- server output (tail) ---\n${tail}\n`);
    code = 2;
  }
  session.keepState = keep;
  try {
    await session.close();
  } catch (err) {
    process.stderr.write(`soak: stopping the server: ${err}\n`);
    session.closeNow();
  }
  guard.dispose();
  if (summary) publish(summary, opts);
  if (keep) keptNote();
  return code;
}
