// `npm run bench -- profile`: how much of the workerd thread one job costs in a thundering herd, and
// where the time goes. A private `wrangler dev` (a server session of tools/harness) with a webhook
// target; one user warms up with a few jobs; then a V8 CPU profile of the Worker's isolate is started
// over the Chrome DevTools protocol (wrangler's --inspector-port), N http jobs are batch-submitted due
// a few seconds ahead, and the profile is stopped once the target has received all of them. Over the
// window from the first receipt to the last: the isolate's busy time per job (issue 16's figure), the
// workerd thread's and the process group's CPU time from /proc, the busy time by area and the top
// functions (summary.ts, through the bundle's source map). Saves the summary JSON and the gzipped
// .cpuprofile under docs/results/profile/ (docs/performance.md: how to open it in DevTools).
//
//   npm run bench -- profile [--jobs N] [--interval-us N] [--save WHAT] [--out DIR] …   (--help)
//
// Bounded: every wait has a deadline and a watchdog ends the run; traffic goes to 127.0.0.1 only.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { commandLine, parseCommand } from "../../harness/cli";
import { ApiClient } from "../../harness/client";
import { load1 } from "../../harness/machine";
import { groupCpuMs, groupProcesses, type ThreadCpu, threadCpuMs } from "../../harness/process-group";
import { projectRoot } from "../../harness/project";
import { resultFileName, resultsDirectory } from "../../harness/results";
import { guardMeasurement } from "../../harness/run-guard";
import { ServerSession } from "../../harness/session";
import type { Target } from "../../harness/target";
import { iso, type Log, makeLog, mapLimit, sleep } from "../../harness/util";
import { DevToolsSession, type InspectorTarget, inspectorTargets } from "./devtools";
import { type CpuFigures, formatReport, type ProfileReport } from "./report";
import { bundleLocator, relocateProfile } from "./source-map";
import { type CpuProfile, type Locate, summarizeProfile } from "./summary";

const usage = `usage: npm run bench -- profile [options]
  --jobs N            jobs in the herd, all due at once (3000)
  --warmup N          jobs run first, before the profile starts, to warm the Worker (100)
  --interval-us N     the profiler's sampling interval, µs (200; finer costs the busy machine more)
  --singles C         submit the herd one job per POST from C clients at once (default: batches of 1,000);
                      the submit's line then gives a single submit's isolate time
  --lead-seconds N    the herd is due this long after its submit starts (default: max(5, jobs / 400))
  --save WHAT         names the files: <date>-<commit>-<WHAT>.json and .cpuprofile.gz (herd)
  --out DIR           write them here instead of docs/results/profile
  --top N             functions listed by self time (25)
  --keep-state        keep the temporary state directory
  --max-seconds N     watchdog for the whole run (900)`;

/** The largest gzipped profile written under docs/results (5 MiB). */
const MAX_COMMITTED_BYTES = 5 * 1024 * 1024;

/** Most jobs one POST /v1/jobs/batch may carry. */
const BATCH = 1000;

interface CpuSnapshot {
  at: number;
  group: number;
  threads: ThreadCpu[];
  harness: number;
}

function cpuSnapshot(pgid: number | null, workerdPid: number | null): CpuSnapshot {
  const usage = process.cpuUsage();
  return {
    at: Date.now(),
    group: groupCpuMs(pgid),
    threads: workerdPid === null ? [] : threadCpuMs(workerdPid),
    harness: (usage.user + usage.system) / 1000,
  };
}

function cpuFigures(before: CpuSnapshot, after: CpuSnapshot, jobs: number): CpuFigures {
  const earlier = new Map(before.threads.map((t) => [t.tid, t.cpuMs]));
  const used = after.threads.map((t) => ({ ...t, ms: t.cpuMs - (earlier.get(t.tid) ?? 0) }));
  const busiest = used.sort((a, b) => b.ms - a.ms)[0];
  const wall = Math.max(1, after.at - before.at);
  const n = Math.max(1, jobs);
  const group = after.group - before.group;
  return {
    workerd_thread: busiest
      ? {
          tid: busiest.tid,
          name: busiest.name,
          ms: busiest.ms,
          ms_per_job: Math.round((busiest.ms / n) * 1000) / 1000,
          share_of_core: Math.round((busiest.ms / wall) * 1000) / 1000,
        }
      : null,
    workerd_process_ms: used.reduce((sum, t) => sum + t.ms, 0),
    workerd_threads: used
      .filter((t) => t.ms > 0)
      .slice(0, 6)
      .map((t) => ({ tid: t.tid, name: t.name, ms: t.ms })),
    process_group_ms: group,
    process_group_ms_per_job: Math.round((group / n) * 1000) / 1000,
    harness_ms: Math.round(after.harness - before.harness),
  };
}

/** The server's workerd that runs the user Worker: the one started with an inspector address. */
function userWorkerd(pgid: number | null): number | null {
  if (pgid === null) return null;
  const found = groupProcesses(pgid).find(
    (p) => /\bworkerd\b/.test(p.command) && p.command.includes("--inspector-addr"),
  );
  return found?.pid ?? null;
}

/** Distinct jobs (webhook-id: job and occurrence, the same on every try) the target got on `route`. */
function received(target: Target, route: string): { count: number; first: number; last: number } {
  const ids = new Set<string>();
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const d of target.deliveries) {
    if (d.route !== route || ids.has(d.webhookId)) continue;
    ids.add(d.webhookId);
    first = Math.min(first, d.at);
    last = Math.max(last, d.at);
  }
  return { count: ids.size, first, last };
}

async function submitAll(
  api: ApiClient,
  key: string,
  jobs: Record<string, unknown>[],
): Promise<{ accepted: number; batches: number }> {
  let accepted = 0;
  let batches = 0;
  for (let i = 0; i < jobs.length; i += BATCH) {
    const reply = await api.expect<{ results: { status: number }[] }>([201], "POST", "/v1/jobs/batch", {
      token: key,
      body: { jobs: jobs.slice(i, i + BATCH) },
    });
    batches++;
    accepted += reply.body.results.filter((r) => r.status < 300).length;
  }
  return { accepted, batches };
}

/** Submits each job in a POST of its own, `clients` at a time; `batches` counts the POSTs. */
async function submitSingles(
  api: ApiClient,
  key: string,
  jobs: Record<string, unknown>[],
  clients: number,
): Promise<{ accepted: number; batches: number }> {
  const answers = await mapLimit(jobs, clients, (body) =>
    api.expect([201], "POST", "/v1/jobs", { token: key, body }),
  );
  return { accepted: answers.length, batches: answers.length };
}

/** Waits until the target has `count` distinct jobs on `route`, calling `onFirst` at the first one. */
async function waitReceived(
  target: Target,
  route: string,
  count: number,
  timeoutMs: number,
  onFirst: () => void = () => {},
) {
  const deadline = Date.now() + timeoutMs;
  let seenFirst = false;
  for (;;) {
    const got = received(target, route);
    if (!seenFirst && got.count > 0) {
      seenFirst = true;
      onFirst();
    }
    if (got.count >= count) return got;
    if (Date.now() > deadline)
      throw new Error(`only ${got.count} of ${count} jobs on ${route} arrived in time`);
    await sleep(25);
  }
}

function chooseTarget(targets: InspectorTarget[]): InspectorTarget {
  const usable = targets.filter((t) => t.webSocketDebuggerUrl);
  const chosen = usable.length === 1 ? usable[0] : usable.find((t) => t.title === "Cloudflare Worker");
  if (!chosen) throw new Error(`no inspector target for the Worker among ${JSON.stringify(targets)}`);
  return chosen;
}

interface ScriptParsed {
  scriptId: string;
  url: string;
  sourceMapURL?: string;
}

/** The isolate's scripts (Debugger.enable replays them), to find the bundle and its source map. */
async function scriptsOf(devtools: DevToolsSession): Promise<ScriptParsed[]> {
  const scripts: ScriptParsed[] = [];
  devtools.on("Debugger.scriptParsed", (params) => scripts.push(params as ScriptParsed));
  await devtools.send("Debugger.enable");
  await devtools.send("Debugger.disable");
  return scripts;
}

function locator(
  scripts: ScriptParsed[],
  root: string,
  log: Log,
): { locate?: Locate; bundle: string | null } {
  const bundle = scripts.find((s) => s.url.includes("/.wrangler/tmp/") && s.sourceMapURL);
  if (!bundle) {
    log("profile: no bundle with a source map among the isolate's scripts; frames keep the bundle's lines");
    return { bundle: null };
  }
  try {
    const locate = bundleLocator(bundle, root) ?? undefined;
    return { ...(locate ? { locate } : {}), bundle: path.relative(root, new URL(bundle.url).pathname) };
  } catch (err) {
    log(`profile: could not read the bundle's source map (${err}); frames keep the bundle's lines`);
    return { bundle: bundle.url };
  }
}

export async function main(argv: string[]): Promise<undefined> {
  const cli = parseCommand(argv, {
    name: "bench profile",
    usage,
    options: {
      jobs: { type: "string", default: "3000" },
      warmup: { type: "string", default: "100" },
      "interval-us": { type: "string", default: "200" },
      "lead-seconds": { type: "string" },
      singles: { type: "string" },
      save: { type: "string", default: "herd" },
      out: { type: "string" },
      top: { type: "string", default: "25" },
      "keep-state": { type: "boolean", default: false },
      "max-seconds": { type: "string", default: "900" },
    },
  });
  const { values } = cli;
  const jobs = cli.integer("jobs", values.jobs, 1, 50_000);
  const warmup = cli.integer("warmup", values.warmup, 0, 5_000);
  const intervalUs = cli.integer("interval-us", values["interval-us"], 50, 10_000);
  const singles = values.singles === undefined ? null : cli.integer("singles", values.singles, 1, 256);
  const leadMs =
    values["lead-seconds"] === undefined
      ? Math.max(5_000, Math.ceil(jobs / (singles === null ? 400 : 50)) * 1000)
      : cli.number("lead-seconds", values["lead-seconds"], 1, 600) * 1000;
  const what = cli.what("save", values.save) ?? "herd";
  const top = cli.integer("top", values.top, 1, 200);
  const maxSeconds = cli.number("max-seconds", values["max-seconds"], 60, 7200);
  const outDir = values.out ? path.resolve(values.out) : resultsDirectory("profile");

  const log = makeLog(Date.now());
  const session = new ServerSession({ name: "profile", target: {}, keepState: values["keep-state"] });
  let devtools: DevToolsSession | null = null;
  const cleanup = async () => {
    devtools?.close();
    await session.close().catch(() => {});
  };
  const guard = guardMeasurement("profile", maxSeconds, log, cleanup);
  const startedAt = Date.now();
  const loadBefore = load1();
  try {
    await session.start();
    const { server, target, adminToken } = session;
    const port = server.inspectorPort;
    if (port === null) throw new Error("the server has no inspector port");
    const api = new ApiClient(server.baseUrl, { timeoutMs: 120_000 });
    const user = await api.createUser(adminToken, "profile-herd");
    const http = (route: string, runAt?: number) => ({
      type: "http",
      payload: { url: target.url(route) },
      ...(runAt === undefined ? {} : { run_at: iso(runAt) }),
    });

    // Warm the Worker (JIT, caches, the shard awake), as in a running system; not profiled.
    if (warmup > 0) {
      const { accepted } = await submitAll(
        api,
        user.api_key,
        Array.from({ length: warmup }, () => http("/warmup")),
      );
      await waitReceived(target, "/warmup", accepted, 120_000);
      await sleep(3_000); // the index copies' flush (INDEX_FLUSH_DELAY_MS) and the last reports
      log(`profile: warm-up of ${accepted} jobs done`);
    }

    const targets = await inspectorTargets(port);
    const chosen = chooseTarget(targets);
    devtools = await DevToolsSession.connect(chosen);
    await devtools.send("Profiler.enable");
    await devtools.send("Profiler.setSamplingInterval", { interval: intervalUs });
    const asked = Date.now();
    await devtools.send("Profiler.start");
    // The profile's clock (µs, V8's) against the wall clock: the start is between the ask and the answer.
    const profiledFrom = (asked + Date.now()) / 2;
    log(`profile: profiling "${chosen.title}" every ${intervalUs} µs; submitting ${jobs} jobs`);

    const workerdPid = userWorkerd(server.processGroup);
    if (workerdPid === null) log("profile: the user Worker's workerd process was not found; no thread CPU");
    const beforeSubmit = cpuSnapshot(server.processGroup, workerdPid);
    const submitStart = Date.now();
    const due = submitStart + leadMs;
    const herd = Array.from({ length: jobs }, () => http("/herd", due));
    const submitted =
      singles === null
        ? await submitAll(api, user.api_key, herd)
        : await submitSingles(api, user.api_key, herd, singles);
    const submitEnd = Date.now();
    const afterSubmit = cpuSnapshot(server.processGroup, workerdPid);
    log(
      `profile: ${submitted.accepted} accepted in ${submitEnd - submitStart} ms; due in ${due - submitEnd} ms`,
    );

    let first: CpuSnapshot | null = null;
    const herdTimeoutMs = leadMs + Math.max(120_000, submitted.accepted * 100);
    const got = await waitReceived(target, "/herd", submitted.accepted, herdTimeoutMs, () => {
      first = cpuSnapshot(server.processGroup, workerdPid);
    });
    const last = cpuSnapshot(server.processGroup, workerdPid);
    const stopAsked = Date.now();
    log(`profile: all ${got.count} received; stopping the profiler`);
    const { profile } = await devtools.send<{ profile: CpuProfile }>("Profiler.stop", {}, 300_000);
    log(`profile: the profiler took ${Date.now() - stopAsked} ms to hand the profile over`);
    const scripts = await scriptsOf(devtools);
    devtools.close();
    devtools = null;
    const loadAfter = load1();

    const root = session.snapshot?.root ?? projectRoot;
    const { locate, bundle } = locator(scripts, root, log);
    if (!profile?.nodes?.length) throw new Error("the profiler returned no profile");
    const toUs = (wall: number) => profile.startTime + (wall - profiledFrom) * 1000;
    const herdSummary = summarizeProfile(profile, {
      window: { fromUs: toUs(got.first), toUs: toUs(got.last) },
      jobs: got.count,
      top,
      ...(locate ? { locate } : {}),
    });
    const submitSummary = summarizeProfile(profile, {
      window: { fromUs: profile.startTime, toUs: toUs(submitEnd) },
      jobs: submitted.accepted,
      top: 10,
      ...(locate ? { locate } : {}),
    });
    const windowMs = got.last - got.first;
    const source = session.source();
    const commit = source.commit;
    const dirty = (source.uncommitted_changes_in_served_files ?? 0) > 0;
    const name = { startedAt, commit, dirty, what };

    mkdirSync(outDir, { recursive: true });
    // Gzipped, a 3,000-job herd's profile is a few hundred KiB, small enough to commit beside its
    // summary; one over MAX_COMMITTED_BYTES goes to the temporary folder instead (the summary still
    // lands in docs/results), unless --out chose the folder.
    const gz = gzipSync(JSON.stringify(locate ? relocateProfile(profile, locate) : profile));
    const profileDir = gz.length > MAX_COMMITTED_BYTES && !values.out ? os.tmpdir() : outDir;
    const profileFile = path.join(profileDir, resultFileName(name, "cpuprofile.gz"));
    writeFileSync(profileFile, gz);
    const report: ProfileReport = {
      started_at: new Date(startedAt).toISOString(),
      command: commandLine("bench", ["profile", ...argv]),
      commit,
      dirty,
      load1_before: loadBefore,
      load1_after: loadAfter,
      isolate: {
        target: chosen.title,
        targets_listed: targets.length,
        bundle,
        sampling_interval_us: intervalUs,
      },
      submit: {
        jobs,
        accepted: submitted.accepted,
        batches: submitted.batches,
        ms: submitEnd - submitStart,
        lead_ms: leadMs,
        finished_before_due: submitEnd <= due,
        isolate: submitSummary,
        cpu: cpuFigures(beforeSubmit, afterSubmit, submitted.accepted),
      },
      herd: {
        jobs: submitted.accepted,
        received: got.count,
        due_to_first_ms: got.first - due,
        window_ms: windowMs,
        received_per_s: windowMs > 0 ? Math.round((got.count / windowMs) * 10_000) / 10 : 0,
        isolate: herdSummary,
        cpu: cpuFigures(first ?? last, last, got.count),
      },
      cpuprofile: profileDir === outDir ? path.relative(projectRoot, profileFile) : profileFile,
      cpuprofile_bytes: gz.length,
    };
    const summaryFile = path.join(outDir, resultFileName(name));
    writeFileSync(summaryFile, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(formatReport(report));
    log(
      `profile: saved ${path.relative(process.cwd(), summaryFile)} and ${path.relative(process.cwd(), profileFile)}`,
    );
  } finally {
    guard.dispose();
    await cleanup();
  }
}
