// `npm run bench -- capacity` (npm run bench:capacity): the whole system on this machine at the highest rate it sustains: a private
// `wrangler dev` (the harness, as `npm run dev` starts it, with the committed DISPATCH_QUEUES and
// INDEX_DATABASES), several users spread over several shards each (admin PATCH), jobs due at once
// submitted through POST /v1/jobs/batch at a rate raised step by step past the knee, then drained.
// Reports jobs/s completed in total and per shard, lateness, CPU ms per job (the server's whole
// process group), the bytes per job each store grew by (shard SQLite, D1), the time this machine's
// SQLite spends per index row, and the load average; then the capacity plan from those figures
// (plan.ts, docs/capacity.md).
//
//   npm run bench -- capacity [--users 8] [--shards 4] [--rates 20,35,50,80] [--step-seconds 20]
//     [--save WHAT] [--operations] [--plan-from docs/results/bench/<file>.json] [--help]
//
// Through npm, so that it runs on the pinned Node 22 (node:sqlite reads the state files).
// Bounded: every loop has a count or a deadline and a watchdog ends the run; traffic goes to 127.0.0.1.
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { commandLine, parseCommand } from "../../harness/cli";
import { ApiClient } from "../../harness/client";
import { parseQueueBatch } from "../../harness/log-lines";
import { loadAverage, waitForLoad } from "../../harness/machine";
import { groupCpuMs } from "../../harness/process-group";
import { headCommit, projectRoot } from "../../harness/project";
import { writeResult } from "../../harness/results";
import { guardMeasurement } from "../../harness/run-guard";
import { ServerSession } from "../../harness/session";
import { round } from "../../harness/stats";
import { makeLog, sleep } from "../../harness/util";
import { summarizeBatches, type TimedBatch } from "../lib/queue";
import { Completions, latenessOf, perShard } from "./completions";
import { timeIndexWrites } from "./d1-write";
import { type LoadUser, OfferedLoad, requestLatency } from "./load";
import { loadSampler, OperationTotals } from "./observe";
import { type Measured, plan, printPlan } from "./plan";
import { growthPerJob, measureState, total } from "./storage";

const usage = `usage: npm run bench -- capacity [options]      (or npm run bench:capacity -- [options])
  --users N            users (8)                 --shards N          shards per user (4)
  --rates LIST         offered jobs/s, one step each (20,35,50,80)
  --step-seconds N     length of a step (20)     --settle-seconds N  start of each step left out of its figures (5)
  --http-share X       share of http jobs (0.1); the rest are noop
  --drain-seconds N    most time to wait for the backlog after the last step (240)
  --operations         LOG_OPERATIONS=true: also count billed operations per job (logging slows the run)
  --port N             API port (first free from 8866)
  --save WHAT          write docs/results/bench/<date>-<commit>-<WHAT>.json
  --keep-state         keep the temporary state directory
  --max-seconds N      watchdog (1200)
  --wait-for-load X    first wait (at most 300 s) until the 1-minute load average is ≤ X (0: do not wait)
  --plan-from FILE     no run: print the plan from a saved result's measured figures`;

function options(argv: string[]) {
  const cli = parseCommand(argv, {
    name: "bench capacity",
    usage,
    options: {
      users: { type: "string", default: "8" },
      shards: { type: "string", default: "4" },
      rates: { type: "string", default: "20,35,50,80" },
      "step-seconds": { type: "string", default: "20" },
      "settle-seconds": { type: "string", default: "5" },
      "http-share": { type: "string", default: "0.1" },
      "drain-seconds": { type: "string", default: "240" },
      operations: { type: "boolean", default: false },
      port: { type: "string" },
      save: { type: "string" },
      "keep-state": { type: "boolean", default: false },
      "max-seconds": { type: "string", default: "1200" },
      "plan-from": { type: "string" },
      "wait-for-load": { type: "string", default: "0" },
    },
  });
  const { values, number: num } = cli;
  const rates = values.rates.split(",").map((r) => num("rates", r.trim(), 1, 20_000));
  const stepSeconds = num("step-seconds", values["step-seconds"], 5, 300);
  return {
    users: num("users", values.users, 1, 64),
    shards: num("shards", values.shards, 1, 64),
    rates,
    stepSeconds,
    settleSeconds: num("settle-seconds", values["settle-seconds"], 0, stepSeconds - 1),
    httpShare: num("http-share", values["http-share"], 0, 1),
    drainSeconds: num("drain-seconds", values["drain-seconds"], 10, 1800),
    operations: values.operations,
    port: values.port === undefined ? undefined : num("port", values.port, 1024, 65535),
    save: cli.what("save", values.save),
    keepState: values["keep-state"],
    maxSeconds: num("max-seconds", values["max-seconds"], 60, 7200),
    planFrom: values["plan-from"],
    waitForLoad: num("wait-for-load", values["wait-for-load"], 0, 100),
  };
}
type Options = ReturnType<typeof options>;

/** Polls `done` until it holds (true) or `timeoutMs` has passed (false). */
async function waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(250);
  }
  return true;
}

async function run(o: Options, argv: string[]) {
  const log = makeLog(Date.now());
  // The machine is shared: optionally let it calm down first; the load is recorded either way.
  await waitForLoad(o.waitForLoad, log, "capacity");
  const started = Date.now();
  const loadAtStart = loadAverage();
  const session = new ServerSession({
    name: "capacity",
    vars: o.operations ? ["LOG_OPERATIONS=true"] : [],
    ...(o.port ? { port: o.port } : { firstPort: 8866 }),
    keepLines: 2_000,
    target: {},
    keepState: o.keepState,
  });
  const { persistTo, dir: tmp } = session;
  const loads = loadSampler();
  const cleanup = async () => {
    loads.stop();
    await session.close().catch(() => {});
  };
  const guard = guardMeasurement("capacity", o.maxSeconds, log, cleanup);
  try {
    const completions = new Completions();
    const operations = new OperationTotals();
    const batches: TimedBatch[] = [];
    session.onLine((line) => {
      completions.add(line.text, line.at);
      if (o.operations) operations.add(line.text);
      const batch = parseQueueBatch(line.text);
      if (batch) batches.push({ at: line.at, ...batch });
    });
    log(`capacity: starting wrangler dev (state ${tmp})`);
    await session.start();
    const { server, target, adminToken } = session;
    const source = session.source();
    const api = new ApiClient(server.baseUrl, { timeoutMs: 60_000 });

    // Users, each spread over `shards` Durable Objects.
    const users: LoadUser[] = [];
    for (let i = 0; i < o.users; i++) {
      const user = await api.createUser(adminToken, `capacity-${i}`);
      await api.expect([200], "PATCH", `/v1/admin/users/${user.user_id}`, {
        token: adminToken,
        // The ceiling too, so that automatic growth (HOT_SHARD_JOBS_PER_SECOND) keeps the topology measured.
        body: { shards: o.shards, shard_ceiling: o.shards },
      });
      users.push({ userId: user.user_id, token: user.api_key });
    }
    const shards = o.users * o.shards;
    const load = new OfferedLoad(api, {
      users,
      httpShare: o.httpShare,
      httpUrl: target.url("/ok"),
      tickMs: 250,
      maxInFlight: 64,
    });

    // Warm-up: enough jobs that every shard exists and has run some, before the baseline is taken.
    const warm = await load.step((shards * 16) / 2, Date.now() + 2_000);
    await load.settle(30_000);
    if (!(await waitFor(() => completions.count >= warm.created, 120_000)))
      throw new Error(`warm-up: ${completions.count} of ${warm.created} jobs finished in 120 s`);
    await sleep(5_000); // the index copies of the last ones (INDEX_FLUSH_DELAY_MS)
    const baseline = measureState(persistTo, path.join(tmp, "measure-before"));
    const warmed = completions.count;
    log(`capacity: ${users.length} users × ${o.shards} shards warm (${warm.created} jobs); baseline taken`);

    const cpu0 = groupCpuMs(server.processGroup);
    const client0 = process.cpuUsage();
    const ops0 = operations.snapshot();
    const t0 = Date.now();
    let createdTotal = 0;
    const steps = [];
    for (const rate of o.rates) {
      const from = Date.now();
      const cpuFrom = groupCpuMs(server.processGroup);
      const counts = await load.step(rate, from + o.stepSeconds * 1000);
      const to = Date.now();
      const cpuTo = groupCpuMs(server.processGroup);
      createdTotal += counts.created;
      const window = completions.between(from + o.settleSeconds * 1000, to);
      const windowS = (to - from) / 1000 - o.settleSeconds;
      const completedPerS = window.length / windowS;
      const submittedPerS = counts.created / ((to - from) / 1000);
      const lateness = latenessOf(window);
      const inStep = completions.between(from, to).length;
      const step = {
        offered_per_s: rate,
        submitted_per_s: round(submittedPerS, 1),
        not_sent: counts.notSent,
        refused_items: counts.refusedItems,
        failed_requests: counts.failedRequests,
        submit_request_ms: requestLatency(counts),
        completed_per_s: round(completedPerS, 1),
        per_shard: perShard(window, shards, windowS),
        lateness_ms: lateness,
        backlog_at_end: warmed + createdTotal - completions.count,
        kept_up: completedPerS >= 0.9 * submittedPerS && (lateness.p99 ?? 0) <= 5_000,
        cpu_ms_per_job: inStep ? round((cpuTo - cpuFrom) / inStep, 1) : null,
        cpu_cores_busy: round((cpuTo - cpuFrom) / (to - from), 2),
        load1: loads.during(from, to),
      };
      steps.push(step);
      log(
        `capacity: offered ${rate}/s → submitted ${step.submitted_per_s}/s, completed ${step.completed_per_s}/s, ` +
          `lateness p50/p99 ${lateness.p50}/${lateness.p99} ms, backlog ${step.backlog_at_end}, load ${step.load1.mean}`,
      );
    }

    // Drain: the backlog, without new submissions, at the rate dispatch alone sustains.
    await load.settle(60_000);
    const drainFrom = Date.now();
    const beforeDrain = completions.count;
    const drained = await waitFor(() => completions.count >= warmed + createdTotal, o.drainSeconds * 1000);
    const drainTo = Date.now();
    const drainJobs = completions.count - beforeDrain;
    log(
      `capacity: drain ${drained ? "done" : "NOT done"}: ${drainJobs} jobs in ${(drainTo - drainFrom) / 1000} s`,
    );
    await sleep(5_000); // the last index copies
    const cpuMs = groupCpuMs(server.processGroup) - cpu0;
    const client = process.cpuUsage(client0);
    const jobs = completions.count - warmed;
    const after = measureState(persistTo, path.join(tmp, "measure-after"));
    const opsPerJob = o.operations ? operations.perJob(ops0, operations.snapshot(), jobs) : null;

    const loadedSeconds = (drainTo - t0) / 1000;
    const shardGrowth = growthPerJob(baseline, after, "shard", jobs);
    const d1Growth = growthPerJob(baseline, after, "d1", jobs);
    const indexRows = total(after, "d1", (f) => f.rows.job_index ?? 0);
    const biggestD1 = after.files
      .filter((f) => f.store === "d1")
      .sort((a, b) => (b.rows.job_index ?? 0) - (a.rows.job_index ?? 0))[0];
    // After the measure: the timing writes into the copy.
    const d1Write = biggestD1 ? timeIndexWrites(biggestD1.copy, 5_000, 25) : null;
    const peak = Math.max(
      ...steps.map((s) => s.completed_per_s),
      drainJobs / ((drainTo - drainFrom) / 1000 || 1),
    );
    const knee = steps.filter((s) => s.kept_up).map((s) => s.offered_per_s);
    const allCompleted = completions.between(t0, drainTo + 1);
    const measured: Measured = {
      shardBytesPerJob: shardGrowth.bytes_held_per_job,
      d1BytesPerJob: d1Growth.bytes_held_per_job,
      cpuMsPerJob: round(cpuMs / jobs, 1),
    };
    const summary = {
      command: commandLine("bench", ["capacity", ...argv]),
      commit: headCommit(),
      src_digest: source.src_digest,
      uncommitted_changes_in_served_files: source.uncommitted_changes_in_served_files ?? 0,
      started_at: new Date(started).toISOString(),
      machine: {
        cpus: os.availableParallelism(),
        cpu_model: os.cpus()[0]?.model ?? "unknown",
        load1_during_load: loads.during(t0, drainTo),
        load_average_at_start: loadAtStart,
        load_average_at_end: loadAverage(),
      },
      setup: {
        users: o.users,
        shards_per_user: o.shards,
        shards,
        dispatch_queues: committedVar("DISPATCH_QUEUES"),
        index_databases: committedVar("INDEX_DATABASES"),
        http_share: o.httpShare,
        step_seconds: o.stepSeconds,
        settle_seconds: o.settleSeconds,
        operations_logged: o.operations,
        warm_up_jobs: warm.created,
      },
      steps,
      drain: {
        done: drained,
        jobs: drainJobs,
        seconds: round((drainTo - drainFrom) / 1000, 1),
        jobs_per_s: round(drainJobs / ((drainTo - drainFrom) / 1000 || 1), 1),
      },
      totals: {
        jobs_completed: jobs,
        jobs_submitted: createdTotal,
        refused_reports: completions.refused,
        highest_completed_per_s: round(peak, 1),
        per_shard_at_highest: round(peak / shards, 1),
        highest_offered_rate_kept_up: knee.length ? Math.max(...knee) : null,
        lateness_ms_all: latenessOf(allCompleted),
        cpu_ms_per_job: round(cpuMs / jobs, 1),
        server_cpu_cores_busy: round(cpuMs / 1000 / loadedSeconds, 2),
        client_cpu_ms_per_job: round((client.user + client.system) / 1000 / jobs, 1),
      },
      bytes_per_job: { shard: shardGrowth, d1: d1Growth },
      d1_index: {
        rows: indexRows,
        rows_per_database: after.files.filter((f) => f.store === "d1").map((f) => f.rows.job_index ?? 0),
        doc_chars_per_row: round(total(after, "d1", (f) => f.docChars ?? 0) / (indexRows || 1)),
        key_and_filter_chars_per_row: round(total(after, "d1", (f) => f.keyChars ?? 0) / (indexRows || 1)),
        sqlite_upsert_on_this_machine: d1Write,
      },
      shard_rows: {
        jobs: total(after, "shard", (f) => f.rows.jobs ?? 0),
        attempts: total(after, "shard", (f) => f.rows.attempts ?? 0),
        files: after.files.filter((f) => f.store === "shard").length,
      },
      files: after.files.map((f) => ({
        store: f.store,
        file: f.file,
        rows: f.rows,
        bytes_in_use: f.bytesInUse,
        bytes_on_disk: f.bytesOnDisk,
      })),
      other_sqlite_files: after.otherFiles,
      operations_per_job: opsPerJob,
      operations_usd_per_million: opsPerJob ? OperationTotals.usdPerMillion(opsPerJob) : null,
      local_queues: Object.fromEntries(
        [
          ...Map.groupBy(
            batches.filter((b) => b.at >= t0),
            (b) => b.queue,
          ),
        ].map(([q, bs]) => [q, summarizeBatches(bs)]),
      ),
      plan: plan(measured),
    };
    return { summary, started };
  } finally {
    guard.dispose();
    await cleanup();
  }
}

/** A variable's value in the committed wrangler.toml, which the served copy runs with. */
function committedVar(name: string): string | null {
  const toml = readFileSync(path.join(projectRoot, "wrangler.toml"), "utf8");
  return new RegExp(`^${name} = "([^"]*)"`, "m").exec(toml)?.[1] ?? null;
}

export async function main(argv: string[]): Promise<undefined> {
  const o = options(argv);
  if (o.planFrom) {
    const saved = JSON.parse(readFileSync(o.planFrom, "utf8"));
    printPlan(plan(saved.plan.inputs.measured as Measured));
    return;
  }
  const { summary, started } = await run(o, argv);
  const json = JSON.stringify(summary, null, 2);
  process.stdout.write(`${json}\n`);
  printPlan(summary.plan);
  const save = o.save && {
    startedAt: started,
    commit: summary.commit,
    dirty: summary.uncommitted_changes_in_served_files > 0,
    what: o.save,
  };
  for (const file of writeResult(json, { kind: "bench", save: save || undefined }))
    process.stderr.write(`capacity: saved ${file}\n`);
}
