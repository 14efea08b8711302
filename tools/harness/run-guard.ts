// A long run's last line of defence: on SIGINT, SIGTERM or SIGHUP, or when its watchdog fires, `stop`
// runs once and the process exits (128 + the signal's number, or `watchdogExit`), however busy the run is.
import os from "node:os";
import type { Log } from "./util";

export interface RunGuard {
  /** The run ended by itself: no watchdog, no signal handlers. */
  dispose(): void;
}

export function guardRun(opts: {
  maxSeconds: number;
  watchdogExit: number;
  /** Told why ("SIGINT", …, or "watchdog: …"); should end the server and whatever else is running. */
  stop: (reason: string) => Promise<void> | void;
}): RunGuard {
  let stopping = false;
  const end = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    void Promise.resolve()
      .then(() => opts.stop(reason))
      .catch((err) => process.stderr.write(`stopping after ${reason}: ${err}\n`))
      .finally(() => process.exit(code));
  };
  const handlers = (["SIGINT", "SIGTERM", "SIGHUP"] as const).map((signal) => {
    const handler = () => end(signal, 128 + (os.constants.signals[signal] ?? 0));
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  const watchdog = setTimeout(
    () => end(`watchdog: the run exceeded ${opts.maxSeconds} s`, opts.watchdogExit),
    opts.maxSeconds * 1000,
  );
  return {
    dispose() {
      clearTimeout(watchdog);
      for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    },
  };
}

/** A measurement's guard: exit 3 when the watchdog fires; `who: <reason>, stopping` is logged first. */
export function guardMeasurement(
  who: string,
  maxSeconds: number,
  log: Log,
  stop: () => Promise<void>,
): RunGuard {
  return guardRun({
    maxSeconds,
    watchdogExit: 3,
    stop: (reason) => {
      log(`${who}: ${reason}, stopping`);
      return stop();
    },
  });
}
