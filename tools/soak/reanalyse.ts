// The verdicts and recovery figures of a kept run, from its raw records (jobs.json, deliveries.json,
// kills.json in the directory --keep-state or a failure leaves), e.g. after the analysis gained a figure.
//
//   node_modules/.bin/tsx soak/reanalyse.ts /tmp/scheduler-soak-XXXXXX
import { readFileSync } from "node:fs";
import path from "node:path";
import { analyse } from "./lib/analyse";
import type { Kill, SoakDelivery, SoakJob } from "./lib/types";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node_modules/.bin/tsx soak/reanalyse.ts KEPT_DIRECTORY");
  process.exit(2);
}
const read = <T>(name: string) => JSON.parse(readFileSync(path.join(dir, name), "utf8")) as T;
const a = analyse({
  jobs: read<SoakJob[]>("jobs.json"),
  deliveries: read<SoakDelivery[]>("deliveries.json"),
  kills: read<Kill[]>("kills.json"),
  faultWindow: { preMs: 10_000, postMs: 10_000 },
});
const { mustBeZero, crashRecovery, rawDuplicateDeliveries, lateness } = a;
console.log(JSON.stringify({ mustBeZero, crashRecovery, rawDuplicateDeliveries, lateness }, null, 2));
