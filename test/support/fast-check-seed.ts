// One seed for every property and model-based test in a run, so a red run can be replayed exactly.
// The seed comes from FC_SEED: .ci/run fixes it (CI is deterministic), a local run draws a fresh one
// (vitest.config.ts) so day-to-day runs keep exploring. A failure names the seed and the command
// that replays it.
import fc from "fast-check";
import { expect } from "vitest";

export function parseSeed(text: string | undefined): number {
  const seed = Number(text);
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(text)}`);
  return seed;
}

function replayHint(seed: number): string {
  const file = expect.getState().testPath ?? "<test file>";
  const relative = file.replace(/^.*?\/(test\/)/, "$1");
  return `\nReplay this failure: FC_SEED=${seed} npm test -- ${relative}`;
}

export function useSeed(seed: number): void {
  // One reporter serves sync and async properties alike (fast-check refuses both kinds at once).
  fc.configureGlobal({
    seed,
    reporter: (details) => {
      const message = fc.defaultReportMessage(details);
      if (message !== undefined)
        throw new Error(message + replayHint(seed), { cause: details.errorInstance });
    },
  });
}
