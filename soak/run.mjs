#!/usr/bin/env node
// Crash-restart soak: `wrangler dev` (started as `npm run dev` starts it) on a temporary persisted state
// directory; thousands of http jobs from many users (one-shot, recurring, always failing, hanging past
// their timeout) against a local target that records every delivery; the server's whole process group
// killed with SIGKILL at random points mid-run and restarted on the same state; then a bounded drain
// and a check of every job against the target's log and the D1 listing.
//
//   node soak/run.mjs [--jobs 5000] [--users 50] [--kills 2] [--duration 60] [--seed N] [...]
//   node soak/run.mjs --ci          # 300 jobs, 10 users, 1 kill: a couple of minutes
//
// Exit status: 0 when every must-be-0 figure is 0; 1 when one is not; 2 when the soak itself failed
// (server would not start, watchdog). Progress goes to stderr, the JSON summary to stdout (and --out).
// Traffic goes to 127.0.0.1 only; every loop is bounded in count and time, a watchdog ends the run
// regardless, and the server's process group is killed on every way out.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { analyse, compareIndex } from "./lib/analyse.mjs";
import { Client } from "./lib/client.mjs";
import { renderMarkdown, renderTable, updateDocs } from "./lib/report.mjs";
import { DevServer, projectRoot, snapshotTree } from "./lib/server.mjs";
import { startTarget } from "./lib/target.mjs";
import { freePortFrom, makeLog, mapLimit, seededRandom, sleep } from "./lib/util.mjs";
import { jobBody, planJobs } from "./lib/workload.mjs";

const usage = `usage: node soak/run.mjs [options]
  --jobs N              jobs in all (5000; env SOAK_JOBS)
  --users N             users the jobs are spread over (50; env SOAK_USERS)
  --kills N             SIGKILLs of the server mid-run (2; env SOAK_KILLS)
  --duration S          run window: one-shot run_at spread over it, kills inside it (60; env SOAK_DURATION)
  --ci                  the short variant: 300 jobs, 10 users, 1 kill, 30 s window (flags still override)
  --seed N              workload and kill points (random; printed, and in the reproduce command)
  --mix R,F,H           fractions of recurring, always-failing and hanging jobs (0.02,0.04,0.02)
  --concurrency N       submits/reads in flight (16)
  --lead S              seconds from the first submit to the start of the window (auto: jobs/40, ≥ 10)
  --dispatch-deadline S DISPATCH_DEADLINE_SECONDS for the server (5)
  --lease-grace S       LEASE_GRACE_SECONDS (2)
  --index-flush-ms N    INDEX_FLUSH_DELAY_MS (500)
  --hang-ms N           how long /hang takes to answer (5000; the hang jobs time out after 1 s)
  --hang-bursts N       hang jobs come due at N instants spread over the window (10; 0 = spread at random,
                        which puts a 1 s hang in nearly every batch of the local queue)
  --drain-seconds S     bound on waiting for every one-shot job to finish (240; ci 120)
  --settle-seconds S    bound on waiting for the D1 listing to agree with the shards (60)
  --max-seconds S       watchdog for the whole run (1500; ci 300)
  --port N              API port (first free from 8900; the inspector and the target take the next free ones)
  --out FILE            also write the JSON summary here
  --write-docs          put the figures into the "Crash-restart soak" section of docs/reliability.md
  --keep-state          keep the temporary directory (state, server log, raw records); kept anyway on failure
  --code WHAT           what the server runs: tree (a copy of the working tree taken at the start; default),
                        head (the committed tree of HEAD, via git archive) or live (the working tree
                        itself: wrangler then reloads whenever someone edits a source file mid-run)`;

function options() {
  const { values } = parseArgs({
    options: {
      jobs: { type: "string" },
      users: { type: "string" },
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
      "hang-ms": { type: "string", default: "5000" },
      "hang-bursts": { type: "string", default: "10" },
      "drain-seconds": { type: "string" },
      "settle-seconds": { type: "string", default: "60" },
      "max-seconds": { type: "string" },
      port: { type: "string" },
      out: { type: "string" },
      "write-docs": { type: "boolean", default: false },
      "keep-state": { type: "boolean", default: false },
      code: { type: "string", default: "tree" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const ci = values.ci;
  const int = (name, v, min, max) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      console.error(`soak: --${name} must be an integer in ${min}..${max}, not ${v}\n${usage}`);
      process.exit(2);
    }
    return n;
  };
  const pick = (flag, env, full, short) => values[flag] ?? process.env[env] ?? String(ci ? short : full);
  const jobs = int("jobs", pick("jobs", "SOAK_JOBS", 5000, 300), 10, 100_000);
  const users = int("users", pick("users", "SOAK_USERS", 50, 10), 1, 1000);
  const mix = values.mix.split(",").map(Number);
  if (mix.length !== 3 || mix.some((x) => !(x >= 0 && x < 1)) || mix[0] + mix[1] + mix[2] >= 1) {
    console.error(`soak: --mix wants three fractions summing below 1, not ${values.mix}`);
    process.exit(2);
  }
  return {
    jobs,
    users,
    kills: int("kills", pick("kills", "SOAK_KILLS", 2, 1), 0, 20),
    duration: int("duration", pick("duration", "SOAK_DURATION", 60, 30), 10, 3600),
    ci,
    seed:
      values.seed === undefined ? randomBytes(4).readUInt32BE() : int("seed", values.seed, 0, 2 ** 32 - 1),
    mix: { rec: mix[0], fail: mix[1], hang: mix[2] },
    concurrency: int("concurrency", values.concurrency, 1, 256),
    lead: values.lead === undefined ? Math.max(10, Math.ceil(jobs / 40)) : int("lead", values.lead, 1, 600),
    dispatchDeadline: int("dispatch-deadline", values["dispatch-deadline"], 1, 3600),
    leaseGrace: int("lease-grace", values["lease-grace"], 0, 3600),
    indexFlushMs: int("index-flush-ms", values["index-flush-ms"], 0, 600_000),
    hangMs: int("hang-ms", values["hang-ms"], 1500, 60_000),
    hangBursts: int("hang-bursts", values["hang-bursts"], 0, 1000),
    drainSeconds: int("drain-seconds", values["drain-seconds"] ?? (ci ? "120" : "240"), 10, 3600),
    settleSeconds: int("settle-seconds", values["settle-seconds"], 5, 3600),
    maxSeconds: int("max-seconds", values["max-seconds"] ?? (ci ? "300" : "1500"), 60, 7200),
    port: values.port === undefined ? undefined : int("port", values.port, 1024, 65535),
    out: values.out,
    writeDocs: values["write-docs"],
    keepState: values["keep-state"],
    code: codeOption(values.code),
  };
}

function codeOption(code) {
  if (["tree", "head", "live"].includes(code)) return code;
  console.error(`soak: --code is tree, head or live, not ${code}`);
  process.exit(2);
}

/** The command that reproduces this run's workload and kill points (timing itself is not replayable). */
function reproduceCommand(opts) {
  const args = process.argv.slice(2).filter((a) => a !== "--write-docs" && a !== "--keep-state");
  const out = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--out" || args[i] === "--port") i++;
    else if (!args[i].startsWith("--out=") && !args[i].startsWith("--port=")) out.push(args[i]);
  }
  if (!out.some((a) => a === "--seed" || a.startsWith("--seed="))) out.push("--seed", String(opts.seed));
  return ["node soak/run.mjs", ...out].join(" ");
}

const opts = options();
const started = Date.now();
const log = makeLog(started);
const runId = randomUUID().slice(0, 8);
const tmp = mkdtempSync(path.join(os.tmpdir(), "scheduler-soak-"));
let server = null;
let target = null;
let keep = opts.keepState;

function cleanupSync(reason) {
  server?.killNow();
  if (!keep) rmSync(tmp, { recursive: true, force: true });
  else process.stderr.write(`soak: state, server log and raw records kept in ${tmp}\n`);
  if (reason) process.stderr.write(`soak: ${reason}\n`);
}
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(sig, () => {
    keep = true;
    cleanupSync(`stopped by ${sig}`);
    process.exit(128 + (os.constants.signals[sig] ?? 0));
  });
}
const watchdog = setTimeout(() => {
  keep = true;
  cleanupSync(`watchdog: the run exceeded --max-seconds ${opts.maxSeconds}`);
  process.exit(2);
}, opts.maxSeconds * 1000);

async function main() {
  const random = seededRandom(opts.seed);
  const apiPort = opts.port ?? (await freePortFrom(8900));
  const inspectorPort = await freePortFrom(apiPort + 1, [apiPort]);
  const targetPort = await freePortFrom(inspectorPort + 1, [apiPort, inspectorPort]);
  const adminToken = `soak-admin-${randomUUID()}`;
  const varsFile = path.join(tmp, "soak.vars");
  // Passed to wrangler as --env-file (scripts/dev.mjs --vars-file): these override [vars] in wrangler.toml.
  writeFileSync(
    varsFile,
    [
      `ADMIN_TOKEN=${adminToken}`,
      `CURSOR_SECRET=${randomUUID()}`,
      "ALLOW_PRIVATE_TARGETS=true",
      `DISPATCH_DEADLINE_SECONDS=${opts.dispatchDeadline}`,
      `LEASE_GRACE_SECONDS=${opts.leaseGrace}`,
      `INDEX_FLUSH_DELAY_MS=${opts.indexFlushMs}`,
      "",
    ].join("\n"),
  );
  log(
    `seed ${opts.seed}; ${opts.jobs} jobs, ${opts.users} users, ${opts.kills} kills, ${opts.duration} s window; ` +
      `ports api ${apiPort} inspector ${inspectorPort} target ${targetPort}; state in ${tmp}`,
  );

  const users = [];
  target = await startTarget({
    port: targetPort,
    hangMs: opts.hangMs,
    secretOf: (u) => users[u]?.signing_secret,
  });
  const tree =
    opts.code === "live" ? { root: projectRoot, live: true } : { root: path.join(tmp, "tree"), live: false };
  if (!tree.live) Object.assign(tree, snapshotTree(tree.root, opts.code));
  log(
    tree.live
      ? "running the live working tree (wrangler reloads on every source change)"
      : `running a snapshot (${opts.code === "head" ? "HEAD" : "working tree"}: commit ${tree.commit?.slice(0, 12)}, ` +
          `${tree.uncommittedChanges?.length ?? "?"} uncommitted changes)`,
  );
  server = new DevServer({
    root: tree.root,
    port: apiPort,
    inspectorPort,
    persistTo: path.join(tmp, "state"),
    varsFile,
    logFile: path.join(tmp, "server.log"),
  });
  const t0Start = Date.now();
  server.start();
  await server.ready(180_000);
  const serverStartS = ((Date.now() - t0Start) / 1000).toFixed(1);
  log(`server ready on ${server.baseUrl} after ${serverStartS} s`);
  const api = new Client(server.baseUrl);

  const created = await mapLimit(
    Array.from({ length: opts.users }, (_, i) => i),
    8,
    async (i) => {
      const r = await api.call("POST", "/v1/admin/users", {
        token: adminToken,
        body: { name: `soak-${runId}-${i}` },
      });
      if (r.status !== 201) throw new Error(`creating a user: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
  );
  users.push(...created);

  const windowMs = opts.duration * 1000;
  const { plan, counts } = planJobs({
    jobs: opts.jobs,
    users: opts.users,
    windowMs,
    random,
    mix: opts.mix,
    hangBursts: opts.hangBursts,
  });
  const killDraws = Array.from({ length: opts.kills }, () => random());
  const submitStart = Date.now();
  const T0 = submitStart + opts.lead * 1000;
  const windowEnd = T0 + windowMs;
  log(
    `window ${new Date(T0).toISOString()} .. ${new Date(windowEnd).toISOString()}; submitting ${plan.length} jobs`,
  );

  // --- kills: one per equal segment of the middle 70 % of the window, never before the last restart ---
  const kills = [];
  let killerFailed = null;
  const killer = (async () => {
    let lastReady = 0;
    for (let i = 0; i < opts.kills; i++) {
      const segStart = T0 + windowMs * (0.15 + (0.7 * i) / opts.kills);
      const segEnd = T0 + windowMs * (0.15 + (0.7 * (i + 1)) / opts.kills);
      const at = Math.max(segStart + killDraws[i] * (segEnd - segStart), lastReady + 3_000);
      await sleep(at - Date.now());
      const openAtKill = target.open();
      const deliveredBefore = target.deliveries.length;
      const killAt = Date.now();
      await server.crash();
      const goneAt = Date.now();
      server.start();
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
  // A restart that fails ends the soak (awaited below); meanwhile nothing else should wait on the server.
  killer.catch((err) => {
    killerFailed = err;
  });

  // --- submit, in run_at order, each with an Idempotency-Key so a retry across a crash creates nothing twice ---
  const submits = { accepted: 0, replayed: 0, retried: 0, failed: 0, adjustedRunAt: 0, failures: [] };
  const jobs = [];
  const progress = setInterval(() => {
    log(
      `… submitted ${jobs.length}/${plan.length}, deliveries ${target.deliveries.length}, target requests open ${target.open()}`,
    );
  }, 10_000);
  try {
    await mapLimit(plan, opts.concurrency, async (p) => {
      if (killerFailed) return;
      let runAtMs = T0 + p.offsetMs;
      // A job whose time has passed before it is submitted would only measure the submit backlog.
      if (runAtMs < Date.now() + 1_000) {
        runAtMs = Date.now() + 1_000;
        submits.adjustedRunAt++;
      }
      const body = jobBody(p, runAtMs, target.url);
      const user = users[p.user];
      try {
        const r = await api.call("POST", "/v1/jobs", {
          token: user.api_key,
          body,
          headers: { "idempotency-key": `soak-${runId}-${p.index}` },
          retryForMs: 240_000,
        });
        if (r.tries > 1) submits.retried++;
        if (r.status === 201 || r.status === 200) {
          if (r.status === 200) submits.replayed++;
          submits.accepted++;
          jobs.push({
            ...p,
            id: r.body.id,
            runAtMs,
            maxRetries: body.max_retries,
            token: user.api_key,
            view: null,
          });
        } else {
          submits.failed++;
          submits.failures.push(`${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        }
      } catch (err) {
        submits.failed++;
        submits.failures.push(String(err.message ?? err).slice(0, 300));
      }
    });
  } finally {
    clearInterval(progress);
  }
  const submitS = (Date.now() - submitStart) / 1000;
  log(
    `submitted: ${submits.accepted} accepted (${submits.replayed} replays), ${submits.failed} failed, in ${submitS.toFixed(1)} s`,
  );
  if (submits.failures.length > 0) log(`submit failures, first: ${submits.failures[0]}`);

  // --- recurring jobs are cancelled one by one, each after about 12 occurrences at a random phase of
  // its interval (so some are queued or running when cancelled), and the rest when the window ends.
  // 12 occurrences plus retries stay under the 20 attempts GET /v1/jobs/:id shows, so every recurring
  // job's attempt list is complete for the checks.
  const recurring = jobs.filter((j) => j.kind === "rec");
  const cancels = { ok: 0, retriedAcrossKill: 0, other: [], early: 0 };
  const cancel = async (j) => {
    if (j.cancelled) return;
    j.cancelled = true;
    try {
      const r = await api.call("DELETE", `/v1/jobs/${j.id}`, { token: j.token, retryForMs: 120_000 });
      if (r.status === 200) cancels.ok++;
      // The first try cancelled it but its answer died with the server; the retry finds it finished.
      // Whether it really is cancelled is checked with every other job's final state.
      else if (r.status === 409 && r.tries > 1) cancels.retriedAcrossKill++;
      else cancels.other.push({ id: j.id, status: r.status, tries: r.tries, body: r.body });
    } catch (err) {
      cancels.other.push({ id: j.id, error: String(err.message ?? err) });
    }
  };
  for (const j of recurring) j.cancelAt = j.runAtMs + (11 + random()) * j.intervalSeconds * 1000;
  const canceller = (async () => {
    const queue = recurring.filter((j) => j.cancelAt < windowEnd).sort((a, b) => a.cancelAt - b.cancelAt);
    const running = [];
    for (const j of queue) {
      await sleep(j.cancelAt - Date.now());
      cancels.early++;
      running.push(cancel(j));
    }
    await Promise.all(running);
  })();

  // --- the window runs; kills happen inside it ---
  const ticker = setInterval(() => {
    const t = ((Date.now() - T0) / 1000).toFixed(0);
    log(`… window +${t} s: deliveries ${target.deliveries.length}, target requests open ${target.open()}`);
  }, 10_000);
  try {
    await killer;
    await sleep(windowEnd - Date.now());
    await canceller;
  } finally {
    clearInterval(ticker);
  }
  await mapLimit(recurring, opts.concurrency, cancel);
  log(
    `cancelled ${cancels.ok + cancels.retriedAcrossKill}/${recurring.length} recurring jobs ` +
      `(${cancels.early} before the window ended; ${cancels.retriedAcrossKill} answered 409 on a retry after a kill)`,
  );

  // --- drain: every one-shot job finished (bounded) ---
  const drainStart = Date.now();
  const drainDeadline = drainStart + opts.drainSeconds * 1000;
  const getView = async (j) => {
    const r = await api.call("GET", `/v1/jobs/${j.id}`, { token: j.token, retryForMs: 60_000 });
    j.viewAt = Date.now();
    if (r.status === 200) return r.body;
    if (r.status === 404) return null;
    throw new Error(`GET ${j.id}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
  };
  let pending = jobs.filter((j) => j.kind !== "rec");
  for (let round = 1; pending.length > 0; round++) {
    await mapLimit(pending, opts.concurrency, async (j) => {
      j.view = await getView(j);
    });
    pending = pending.filter((j) => j.view && !["succeeded", "failed", "cancelled"].includes(j.view.status));
    if (pending.length === 0 || Date.now() > drainDeadline) break;
    if (round % 5 === 1) log(`… draining: ${pending.length} one-shot jobs unfinished`);
    await sleep(2_000);
  }
  const drainS = (Date.now() - drainStart) / 1000;
  log(`drain: ${pending.length} unfinished after ${drainS.toFixed(1)} s`);

  // --- the final view of every job, from its shard ---
  await mapLimit(jobs, opts.concurrency, async (j) => {
    j.view = await getView(j);
  });

  // --- D1: the listing must agree with the shards once the index has settled (bounded) ---
  const views = new Map(jobs.filter((j) => j.view).map((j) => [j.id, j.view]));
  const byUser = new Map();
  for (const j of jobs) {
    if (!byUser.has(j.user)) byUser.set(j.user, []);
    byUser.get(j.user).push(j);
  }
  const listUser = async (u) => {
    const docs = new Map();
    let cursor = null;
    for (let page = 0; page < 1000; page++) {
      const q = `/v1/jobs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const r = await api.call("GET", q, { token: users[u].api_key, retryForMs: 60_000 });
      if (r.status !== 200) throw new Error(`listing: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      for (const doc of r.body.jobs) docs.set(doc.id, doc);
      cursor = r.body.next_cursor;
      if (!cursor) break;
    }
    return docs;
  };
  const settleStart = Date.now();
  const settleDeadline = settleStart + opts.settleSeconds * 1000;
  let disagreements = [];
  let all = [];
  let firstLook = null;
  let usersToCheck = [...byUser.keys()];
  const latest = new Map();
  for (;;) {
    const results = await mapLimit(usersToCheck, 4, async (u) => [u, await listUser(u)]);
    for (const [u, docs] of results) latest.set(u, docs);
    const listed = new Map();
    for (const docs of latest.values()) for (const [id, doc] of docs) listed.set(id, doc);
    all = compareIndex(views, listed);
    disagreements = all.filter((x) => x.final);
    if (firstLook === null) firstLook = disagreements.length;
    if (disagreements.length === 0 || Date.now() > settleDeadline) break;
    // The shard is the truth: re-read the disagreeing jobs there too, in case one changed since.
    const ids = new Set(disagreements.map((x) => x.id));
    await mapLimit(
      jobs.filter((j) => ids.has(j.id)),
      opts.concurrency,
      async (j) => {
        j.view = await getView(j);
        if (j.view) views.set(j.id, j.view);
      },
    );
    usersToCheck = [...new Set(jobs.filter((j) => ids.has(j.id)).map((j) => j.user))];
    if (usersToCheck.length === 0) usersToCheck = [...byUser.keys()];
    await sleep(1_000);
  }
  const settledAfterS = Math.round((Date.now() - settleStart) / 100) / 10;
  const unsettled = all.length - disagreements.length;
  log(
    `D1: ${disagreements.length} disagreements on finished jobs after ${settledAfterS} s (${firstLook} at first look)` +
      (unsettled ? `; ${unsettled} more on jobs still changing` : ""),
  );

  // --- verdicts ---
  const a = analyse({
    jobs,
    deliveries: target.deliveries,
    kills,
    faultWindow: { preMs: 10_000, postMs: 10_000 },
  });
  const mustBeZero = { ...a.mustBeZero, d1Disagreements: disagreements.length };
  const pass = Object.values(mustBeZero).every((n) => n === 0);
  const wranglerVersion = JSON.parse(
    readFileSync(path.join(projectRoot, "node_modules/wrangler/package.json"), "utf8"),
  ).version;
  const summary = {
    soak: "crash-restart",
    command: reproduceCommand(opts),
    startedAt: new Date(started).toISOString(),
    elapsedS: Math.round((Date.now() - started) / 1000),
    pass,
    params: { ...opts, out: undefined },
    environment: {
      node: process.versions.node,
      cpus: os.cpus().length,
      platform: `${os.platform()} ${os.release()}`,
      wrangler: wranglerVersion,
      loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    },
    workload: counts,
    phases: {
      serverStartS: Number(serverStartS),
      submitS: Math.round(submitS * 10) / 10,
      submitRate: Math.round(submits.accepted / submitS),
      windowS: opts.duration,
      drainS: Math.round(drainS * 10) / 10,
    },
    kills,
    submits: { ...submits, failures: submits.failures.slice(0, 10) },
    cancels: {
      ok: cancels.ok,
      retriedAcrossKill: cancels.retriedAcrossKill,
      beforeWindowEnd: cancels.early,
      other: cancels.other.slice(0, 10),
    },
    mustBeZero,
    rawDuplicateDeliveries: a.rawDuplicateDeliveries,
    repeatsByDesign: a.repeatsByDesign,
    deliveries: a.deliveries,
    lateness: a.lateness,
    latenessNote:
      "ms; 'near a kill' = scheduled from 10 s before a kill until 10 s after the server was healthy again; " +
      "'clean' = every other scheduled time",
    recovery: a.recovery,
    lostBy: a.lostBy,
    queue: {
      ...server.queue,
      attemptsBegun: a.attemptsBegun,
      messagesPerBegunAttempt: a.attemptsBegun
        ? Math.round((server.queue.messages / a.attemptsBegun) * 100) / 100
        : null,
      note: "messages the local queue handed to the consumer (from its log lines) vs attempts the shards began",
    },
    deliveriesAfterSnapshot: a.deliveriesAfterSnapshot,
    finalStatus: a.finalStatus,
    okNotSucceeded: a.okNotSucceeded,
    truncatedAttemptLists: a.truncatedAttemptLists,
    d1: {
      firstLook,
      settledAfterS,
      onUnfinishedJobs: unsettled,
      note: "must-be-0 counts jobs whose shard state is final; rows of jobs still changing cannot settle and are counted apart",
      disagreements: disagreements.slice(0, 50),
    },
    code: {
      from: opts.code,
      live: tree.live,
      commit: tree.commit ?? null,
      uncommittedChanges: tree.uncommittedChanges ?? null,
    },
    server: {
      starts: server.starts,
      reloads: server.reloads,
      logEvents: server.events,
      notableLogLines: server.notable,
      samples: server.notableSamples.slice(0, 20),
    },
    client: api.stats,
    evidence: a.evidence,
  };
  if (!pass) keep = true;
  if (keep) {
    writeFileSync(path.join(tmp, "jobs.json"), JSON.stringify(jobs.map(({ token: _t, ...j }) => j)));
    writeFileSync(path.join(tmp, "deliveries.json"), JSON.stringify(target.deliveries));
    writeFileSync(path.join(tmp, "kills.json"), JSON.stringify(kills));
  }
  return summary;
}

let code = 0;
let summary = null;
try {
  summary = await main();
  code = summary.pass ? 0 : 1;
} catch (err) {
  keep = true;
  process.stderr.write(`soak: ${err.stack ?? err}\n`);
  if (server) process.stderr.write(`--- server output (tail) ---\n${server.tailText()}\n`);
  code = 2;
}
try {
  await server?.stop();
} catch (err) {
  process.stderr.write(`soak: stopping the server: ${err}\n`);
  server?.killNow();
}
await target?.close();
clearTimeout(watchdog);
if (summary) {
  process.stderr.write(`\n${renderTable(summary)}\n\n`);
  const json = JSON.stringify(summary, null, 2);
  process.stdout.write(`${json}\n`);
  if (opts.out) {
    mkdirSync(path.dirname(path.resolve(opts.out)), { recursive: true });
    writeFileSync(opts.out, `${json}\n`);
  }
  if (opts.writeDocs) {
    const intro =
      "`soak/run.mjs` kills the local server (the whole `wrangler dev` process group, SIGKILL) in the middle " +
      "of a run of thousands of jobs, restarts it on the same state, and checks every job afterwards.";
    updateDocs(path.join(projectRoot, "docs/reliability.md"), renderMarkdown([summary]), intro);
    process.stderr.write("soak: wrote the figures into docs/reliability.md\n");
  }
}
cleanupSync();
process.exit(code);
