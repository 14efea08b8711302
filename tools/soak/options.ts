// The soak's command line: options (flags, then SOAK_* environment, then defaults; --ci picks the
// short variant) and the command that reproduces a run's workload and kill points.
import { randomBytes } from "node:crypto";
import { parseCommand } from "../harness/cli";
import type { Code } from "../harness/session";
import type { Mix } from "./lib/workload";

export const usage = `usage: npm run soak -- [run] [options]
  --jobs N              jobs in all (5000; env SOAK_JOBS)
  --users N             users the jobs are spread over (50; env SOAK_USERS)
  --kills N             SIGKILLs of the server mid-run (2; env SOAK_KILLS)
  --duration S          run window: one-shot run_at spread over it, kills inside it (60; env SOAK_DURATION)
  --graphs N            dependency graphs of 3-10 jobs submitted during the window (150; ci 24; env SOAK_GRAPHS; 0: none)
  --graph-users N       users the graphs are spread over, besides --users (5; ci 2)
  --graph-shards N      shards of each graph user, so dependencies cross shards (4)
  --ci                  the short variant: 300 jobs, 10 users, 24 graphs, 1 kill, 30 s window (flags still override)
  --seed N              workload and kill points (random; printed, and in the reproduce command)
  --mix R,F,H           fractions of recurring, always-failing and hanging jobs (0.02,0.04,0.02)
  --concurrency N       submits/reads in flight (16)
  --lead S              seconds from the first submit to the start of the window (auto: jobs/40, ≥ 10)
  --dispatch-deadline S DISPATCH_DEADLINE_SECONDS for the server (5)
  --lease-grace S       LEASE_GRACE_SECONDS (2)
  --index-flush-ms N    INDEX_FLUSH_DELAY_MS (500)
  --ok-timeout S        timeout_seconds of the /ok jobs (900: recovery from a crash must not wait for it)
  --ok-ms N             how long /ok takes to answer (0; a slower target has more attempts in flight for a kill to cut)
  --hang-ms N           how long /hang takes to answer (5000; the hang jobs time out after 1 s)
  --hang-bursts N       hang jobs come due at N instants spread over the window (10; 0 = spread at random,
                        which puts a 1 s hang in nearly every batch of the local queue)
  --drain-seconds S     bound on waiting for every one-shot job to finish (240; ci 120)
  --settle-seconds S    bound on waiting for the D1 listing to agree with the shards (60)
  --max-seconds S       watchdog for the whole run (1500; ci 300)
  --port N              API port (first free from 8900; the inspector takes the next free one)
  --save WHAT           also write the JSON summary to docs/results/soak/<date>-<commit>-<WHAT>.json
  --out FILE            also write the JSON summary here
  --write-docs          put the figures into the "Crash-restart soak" section of docs/reliability.md
  --keep-state          keep the temporary directory (state, server log, raw records); kept anyway on failure
  --code WHAT           what the server runs: tree (a copy of the working tree taken at the start; default),
                        head (the committed tree of HEAD, via git archive) or live (the working tree
                        itself: wrangler then reloads whenever someone edits a source file mid-run)`;

export interface SoakOptions {
  jobs: number;
  users: number;
  graphs: number;
  graphUsers: number;
  graphShards: number;
  kills: number;
  duration: number;
  ci: boolean;
  seed: number;
  mix: Mix;
  concurrency: number;
  lead: number;
  dispatchDeadline: number;
  leaseGrace: number;
  indexFlushMs: number;
  okTimeout: number;
  okMs: number;
  hangMs: number;
  hangBursts: number;
  drainSeconds: number;
  settleSeconds: number;
  maxSeconds: number;
  port: number | undefined;
  out: string | undefined;
  save: string | undefined;
  writeDocs: boolean;
  keepState: boolean;
  code: Code;
}

export function options(argv = process.argv.slice(2)): SoakOptions {
  const cli = parseCommand(argv, {
    name: "soak",
    usage,
    options: {
      jobs: { type: "string" },
      users: { type: "string" },
      graphs: { type: "string" },
      "graph-users": { type: "string" },
      "graph-shards": { type: "string", default: "4" },
      kills: { type: "string" },
      duration: { type: "string" },
      ci: { type: "boolean", default: false },
      seed: { type: "string" },
      mix: { type: "string", default: "0.02,0.04,0.02" },
      concurrency: { type: "string", default: "16" },
      lead: { type: "string" },
      "dispatch-deadline": { type: "string", default: "5" },
      "lease-grace": { type: "string", default: "2" },
      "index-flush-ms": { type: "string", default: "500" },
      "ok-timeout": { type: "string", default: "900" },
      "ok-ms": { type: "string", default: "0" },
      "hang-ms": { type: "string", default: "5000" },
      "hang-bursts": { type: "string", default: "10" },
      "drain-seconds": { type: "string" },
      "settle-seconds": { type: "string", default: "60" },
      "max-seconds": { type: "string" },
      port: { type: "string" },
      save: { type: "string" },
      out: { type: "string" },
      "write-docs": { type: "boolean", default: false },
      "keep-state": { type: "boolean", default: false },
      code: { type: "string", default: "tree" },
    },
  });
  const { values, fail, integer: int } = cli;
  const ci = values.ci;
  const pick = (
    flag: "jobs" | "users" | "kills" | "duration" | "graphs",
    env: string,
    full: number,
    short: number,
  ) => values[flag] ?? process.env[env] ?? String(ci ? short : full);
  const jobs = int("jobs", pick("jobs", "SOAK_JOBS", 5000, 300), 10, 100_000);
  const users = int("users", pick("users", "SOAK_USERS", 50, 10), 1, 1000);
  const [rec = Number.NaN, failing = Number.NaN, hang = Number.NaN, ...more] = values.mix
    .split(",")
    .map(Number);
  const fractions = [rec, failing, hang];
  if (more.length > 0 || fractions.some((x) => !(x >= 0 && x < 1)) || rec + failing + hang >= 1)
    fail(`--mix wants three fractions summing below 1, not ${values.mix}`);
  if (!["tree", "head", "live"].includes(values.code))
    fail(`--code is tree, head or live, not ${values.code}`);
  return {
    jobs,
    users,
    graphs: int("graphs", pick("graphs", "SOAK_GRAPHS", 150, 24), 0, 10_000),
    graphUsers: int("graph-users", values["graph-users"] ?? (ci ? "2" : "5"), 1, 100),
    graphShards: int("graph-shards", values["graph-shards"], 1, 16),
    kills: int("kills", pick("kills", "SOAK_KILLS", 2, 1), 0, 20),
    duration: int("duration", pick("duration", "SOAK_DURATION", 60, 30), 10, 3600),
    ci,
    seed:
      values.seed === undefined ? randomBytes(4).readUInt32BE() : int("seed", values.seed, 0, 2 ** 32 - 1),
    mix: { rec, fail: failing, hang },
    concurrency: int("concurrency", values.concurrency, 1, 256),
    lead: values.lead === undefined ? Math.max(10, Math.ceil(jobs / 40)) : int("lead", values.lead, 1, 600),
    dispatchDeadline: int("dispatch-deadline", values["dispatch-deadline"], 1, 3600),
    leaseGrace: int("lease-grace", values["lease-grace"], 0, 3600),
    indexFlushMs: int("index-flush-ms", values["index-flush-ms"], 0, 600_000),
    okTimeout: int("ok-timeout", values["ok-timeout"], 1, 900),
    okMs: int("ok-ms", values["ok-ms"], 0, 60_000),
    hangMs: int("hang-ms", values["hang-ms"], 1500, 60_000),
    hangBursts: int("hang-bursts", values["hang-bursts"], 0, 1000),
    drainSeconds: int("drain-seconds", values["drain-seconds"] ?? (ci ? "120" : "240"), 10, 3600),
    settleSeconds: int("settle-seconds", values["settle-seconds"], 5, 3600),
    maxSeconds: int("max-seconds", values["max-seconds"] ?? (ci ? "300" : "1500"), 60, 7200),
    port: values.port === undefined ? undefined : int("port", values.port, 1024, 65535),
    out: values.out,
    save: cli.what("save", values.save),
    writeDocs: values["write-docs"],
    keepState: values["keep-state"],
    code: values.code as Code,
  };
}

/** The command that reproduces this run's workload and kill points (timing itself is not replayable). */
export function reproduceCommand(opts: SoakOptions, argv = process.argv.slice(2)): string {
  const args = argv.filter((a) => a !== "--write-docs" && a !== "--keep-state");
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (a === "--out" || a === "--port" || a === "--save") i++;
    else if (!a.startsWith("--out=") && !a.startsWith("--port=") && !a.startsWith("--save=")) out.push(a);
  }
  if (!out.some((a) => a === "--seed" || a.startsWith("--seed="))) out.push("--seed", String(opts.seed));
  return ["npm run soak --", ...out].join(" ");
}
