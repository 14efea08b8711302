// `npm run soak -- reanalyse DIR`: the verdicts and recovery figures of a kept run, from its raw records
// (jobs.json, deliveries.json, kills.json in the folder --keep-state or a failure leaves), e.g. after the
// analysis gained a figure.
import { readFileSync } from "node:fs";
import path from "node:path";
import { parseCommand } from "../harness/cli";
import { analyse } from "./lib/analyse";
import { analyseGraphs } from "./lib/analyse-graphs";
import type { Kill, SoakDelivery, SoakJob } from "./lib/types";

const usage = "usage: npm run soak -- reanalyse KEPT_DIRECTORY      (e.g. /tmp/scheduler-soak-XXXXXX)";

export async function main(argv: string[]): Promise<undefined> {
  const { positionals, fail } = parseCommand(argv, {
    name: "soak reanalyse",
    usage,
    options: {},
    positionals: true,
  });
  const [dir, ...more] = positionals;
  if (dir === undefined || more.length > 0) fail("one folder, please");
  const read = <T>(name: string) => JSON.parse(readFileSync(path.join(dir ?? "", name), "utf8")) as T;
  const jobs = read<SoakJob[]>("jobs.json");
  const deliveries = read<SoakDelivery[]>("deliveries.json");
  const kills = read<Kill[]>("kills.json");
  const a = analyse({ jobs, deliveries, kills, faultWindow: { preMs: 10_000, postMs: 10_000 } });
  // Refused graph submits are not in the records (a refused job has no id): the run's summary has them.
  const g = analyseGraphs({ jobs, deliveries, kills });
  const mustBeZero = { ...a.mustBeZero, ...g.mustBeZero };
  const { crashRecovery, rawDuplicateDeliveries, lateness } = a;
  const graphs = { ...g.figures, evidence: g.evidence };
  console.log(
    JSON.stringify({ mustBeZero, crashRecovery, rawDuplicateDeliveries, lateness, graphs }, null, 2),
  );
}
