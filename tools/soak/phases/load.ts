// Phase 2, load: the users, the seeded plan of jobs, the submits (in run_at order, each with an
// Idempotency-Key so that a retry across a crash creates nothing twice), recurring jobs cancelled one
// by one, and the window run to its end while the kills happen inside it.
import type { CreatedUser, Job } from "../../harness/api-types";
import { mapLimit, sleep } from "../../harness/util";
import { graphCounts, planGraphs } from "../lib/graphs";
import type { SoakJob } from "../lib/types";
import { jobBody, planJobs } from "../lib/workload";
import { submitGraphs } from "./graphs";
import { type Killer, plannedKills, startKills } from "./kills";
import type { Soak } from "./start";

export interface Submits {
  accepted: number;
  replayed: number;
  retried: number;
  failed: number;
  adjustedRunAt: number;
  failures: string[];
}

export interface Cancels {
  ok: number;
  retriedAcrossKill: number;
  other: unknown[];
  early: number;
}

/**
 * The plan's users (0..users-1), then the graphs' users (users..users+graphUsers-1, only with graphs),
 * each of those grown to --graph-shards shards, so a graph's jobs spread over several shards.
 */
export async function createUsers(soak: Soak): Promise<void> {
  const { api, adminToken, opts, runId } = soak;
  const graphUsers = opts.graphs > 0 ? opts.graphUsers : 0;
  const created = await mapLimit(
    Array.from({ length: opts.users + graphUsers }, (_, i) => i),
    8,
    async (i) => {
      const graph = i >= opts.users;
      const r = await api.call<CreatedUser>("POST", "/v1/admin/users", {
        token: adminToken,
        body: { name: graph ? `soak-${runId}-graphs-${i - opts.users}` : `soak-${runId}-${i}` },
      });
      if (r.status !== 201) throw new Error(`creating a user: ${r.status} ${JSON.stringify(r.body)}`);
      if (graph && opts.graphShards > 1) {
        const p = await api.call<{ shards: number }>("PATCH", `/v1/admin/users/${r.body.user_id}`, {
          token: adminToken,
          body: { shards: opts.graphShards },
        });
        if (p.status !== 200 || p.body.shards !== opts.graphShards)
          throw new Error(`growing a graph user's shards: ${p.status} ${JSON.stringify(p.body)}`);
      }
      return r.body;
    },
  );
  soak.users.push(...created);
}

export async function load(soak: Soak) {
  const { api, target, log, opts, random, users, runId } = soak;
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
  // Drawn after the plan and the kill points, so a seed's other jobs and kills are as without graphs.
  const graphPlans = planGraphs({
    graphs: opts.graphs,
    users: opts.graphUsers,
    firstUser: opts.users,
    firstIndex: plan.length,
    windowMs,
    killsAtMs: plannedKills(killDraws, windowMs),
    random,
  });
  const submitStart = Date.now();
  const T0 = submitStart + opts.lead * 1000;
  const windowEnd = T0 + windowMs;
  log(
    `window ${new Date(T0).toISOString()} .. ${new Date(windowEnd).toISOString()}; submitting ${plan.length} jobs`,
  );
  const killer = startKills(soak, { T0, windowMs }, killDraws);
  const jobs: SoakJob[] = [];
  const graphs = submitGraphs(soak, graphPlans, T0, killer, jobs);

  const submits: Submits = {
    accepted: 0,
    replayed: 0,
    retried: 0,
    failed: 0,
    adjustedRunAt: 0,
    failures: [],
  };
  const progress = setInterval(() => {
    log(
      `… submitted ${jobs.filter((j) => j.kind !== "dep").length}/${plan.length}, deliveries ${target.deliveries.length}, target requests open ${target.inFlight()}`,
    );
  }, 10_000);
  try {
    await mapLimit(plan, opts.concurrency, async (p) => {
      if (killer.failure()) return;
      let runAtMs = T0 + p.offsetMs;
      // A job whose time has passed before it is submitted would only measure the submit backlog.
      if (runAtMs < Date.now() + 1_000) {
        runAtMs = Date.now() + 1_000;
        submits.adjustedRunAt++;
      }
      const body = jobBody(p, runAtMs, target.url, opts.okTimeout);
      const user = users[p.user] as CreatedUser;
      try {
        const r = await api.call<Job>("POST", "/v1/jobs", {
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
        submits.failures.push(String((err as Error).message ?? err).slice(0, 300));
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

  const cancels = await runWindow(soak, jobs, killer, { T0, windowEnd });
  const graphSubmits = await graphs;
  const graphPlanned = graphCounts(graphPlans);
  log(
    `graphs: ${graphSubmits.accepted}/${graphPlanned.jobs} jobs of ${graphPlanned.graphs} graphs accepted ` +
      `(${graphSubmits.replayed} replays, ${graphSubmits.retried} requests retried across a kill, ` +
      `${graphSubmits.refused} refused, ${graphSubmits.notSubmitted} not submitted)`,
  );
  if (graphSubmits.failures.length > 0) log(`graph submit failures, first: ${graphSubmits.failures[0]}`);
  return {
    jobs,
    counts: { ...counts, dep: graphPlanned.jobs },
    submits,
    submitS,
    cancels,
    kills: killer.kills,
    graphs: { planned: graphPlanned, submits: graphSubmits },
  };
}

/**
 * Recurring jobs are cancelled one by one, each after about 12 occurrences at a random phase of its
 * interval (so some are queued or running when cancelled), and the rest when the window ends. 12
 * occurrences plus retries stay under the 20 attempts GET /v1/jobs/:id shows, so every recurring job's
 * attempt list is complete for the checks.
 */
async function runWindow(
  soak: Soak,
  jobs: SoakJob[],
  killer: Killer,
  { T0, windowEnd }: { T0: number; windowEnd: number },
): Promise<Cancels> {
  const { api, target, log, opts, random } = soak;
  const recurring = jobs.filter((j) => j.kind === "rec");
  const cancels: Cancels = { ok: 0, retriedAcrossKill: 0, other: [], early: 0 };
  const cancel = async (j: SoakJob) => {
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
      cancels.other.push({ id: j.id, error: String((err as Error).message ?? err) });
    }
  };
  for (const j of recurring) j.cancelAt = j.runAtMs + (11 + random()) * (j.intervalSeconds ?? 0) * 1000;
  const canceller = (async () => {
    const queue = recurring
      .filter((j) => (j.cancelAt ?? 0) < windowEnd)
      .sort((a, b) => (a.cancelAt ?? 0) - (b.cancelAt ?? 0));
    const running: Promise<void>[] = [];
    for (const j of queue) {
      await sleep((j.cancelAt ?? 0) - Date.now());
      cancels.early++;
      running.push(cancel(j));
    }
    await Promise.all(running);
  })();

  const ticker = setInterval(() => {
    const t = ((Date.now() - T0) / 1000).toFixed(0);
    log(
      `… window +${t} s: deliveries ${target.deliveries.length}, target requests open ${target.inFlight()}`,
    );
  }, 10_000);
  try {
    await killer.done;
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
  return cancels;
}
