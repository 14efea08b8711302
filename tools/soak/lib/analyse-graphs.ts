// The soak's verdicts on its dependency graphs (lib/graphs.ts), from the same independent records as
// the rest (lib/analyse.ts): the plan (which job depends on which, with what policy), the target's log
// (when each request arrived and was answered) and every job's final view from its shard. Pure.
//
// Definitions (also in docs/reliability.md, "Crash-restart soak"):
// - dependency violation: a dependent whose first attempt started before every dependency it names
//   had succeeded (with on_dependency_failure "run": had finished), by the shards' records (the
//   dependency's deciding attempt's finished_at against the dependent's first started_at) or by the
//   target's (the dependency's answer against the dependent's first arrival); a dependent that ran
//   although a dependency failed (policy "fail"); one failed with `dependency_failed` while no
//   dependency failed, or after it ran, or with policy "run"; a job whose `depends_on` or
//   `on_dependency_failure` is not what was submitted; a job that ran and still lists `blocked_by`; a
//   graph job that succeeded without reaching the target, or a `/fail` one that succeeded; a graph
//   submit the API refused (every id it names was acknowledged).
//   A dependent made due (its first attempt's scheduled_at: the moment it heard its last dependency)
//   before its dependencies allowed it is one too.
// - slow dependency (liveness of the notifications): a dependent that did not hear it was free within
//   60 s of being free (its last dependency decided, or its own submit if later; counted from the
//   restart when a kill fell in between): made due (its first attempt's scheduled_at), or failed with
//   `dependency_failed`, later than that, or still blocked by finished dependencies when read. Its
//   dispatch after that is the scheduler's usual lateness (lib/analyse.ts), which a machine's load and
//   a kill's backlog stretch, so it is reported (free → started), not bounded here.
// Graph jobs left unfinished are lost jobs (lib/analyse.ts); here they are listed with their
// dependencies' states, which show a notification that never arrived.
import { shardOfJobId } from "../../../src/core/ids";
import { type Distribution, distribution } from "../../harness/stats";
import { listIn, ms } from "../../harness/util";
import type { Kill, SoakDelivery, SoakJob } from "./types";

/** The bound on a dependent hearing it is free (made due, or failed by its dependency). */
export const DEPENDENCY_BOUND_MS = 60_000;
/** The design's error of a job failed by its dependency. */
export const DEPENDENCY_FAILED = "dependency_failed";
/** Two records of causally ordered events may be read off clocks this far apart. */
const CLOCK_SLACK_MS = 50;
const FINAL = new Set(["succeeded", "failed", "cancelled"]);

type Finding = { id: string | null; [detail: string]: unknown };

export interface GraphAnalyseInput {
  jobs: SoakJob[];
  deliveries: SoakDelivery[];
  kills: readonly Pick<Kill, "at" | "readyAt">[];
  /** What the graph submits refused (phases/graphs.ts), each one a violation. */
  refusedSubmits?: number;
}

const t = (isoTime: string | null | undefined) => ms(isoTime) ?? Number.NaN;
const sortedAttempts = (j: SoakJob) => [...(j.view?.attempts ?? [])].sort((a, b) => a.number - b.number);
const failedByDependency = (j: SoakJob) =>
  j.view?.status === "failed" && j.view.last_error === DEPENDENCY_FAILED;

/**
 * When a finished job's outcome was decided: the succeeded attempt's end; for a failure, its last
 * attempt's end, or (failed by a dependency: no attempt) the moment it was failed, its updated_at.
 */
function decidedAt(j: SoakJob): number | null {
  const v = j.view;
  if (!v || !FINAL.has(v.status)) return null;
  const attempts = sortedAttempts(j);
  const won = attempts.find((a) => a.status === "succeeded");
  if (v.status === "succeeded") return won?.finished_at ? t(won.finished_at) : null;
  const last = attempts.at(-1);
  if (last?.finished_at && !failedByDependency(j)) return t(last.finished_at);
  return ms(v.updated_at);
}

/**
 * The target's answer to the attempt that decided a finished job (the earliest answer to a delivery
 * that arrived once that attempt had begun): a dependent's requests must come after it. Null when the
 * job never reached the target (failed by a dependency) or the records do not say.
 */
function decidingAnswerAt(j: SoakJob, dels: SoakDelivery[]): number | null {
  const attempts = sortedAttempts(j);
  const deciding =
    j.view?.status === "succeeded" ? attempts.find((a) => a.status === "succeeded") : attempts.at(-1);
  if (!deciding) return null;
  const begun = t(deciding.started_at) - CLOCK_SLACK_MS;
  const answers = dels
    .filter((d) => d.at >= begun && d.answeredAt !== null && d.answeredAt !== undefined)
    .map((d) => d.answeredAt as number);
  return answers.length > 0 ? Math.min(...answers) : null;
}

export function analyseGraphs({ jobs, deliveries, kills, refusedSubmits = 0 }: GraphAnalyseInput) {
  const graphJobs = jobs.filter((j) => j.graph !== undefined);
  const byId = new Map(graphJobs.map((j) => [j.id, j]));
  const dels = new Map<string, SoakDelivery[]>();
  for (const d of deliveries) listIn(dels, d.jobId).push(d);
  for (const list of dels.values()) list.sort((a, b) => a.at - b.at);
  const delsOf = (j: SoakJob) =>
    (dels.get(j.id) ?? []).filter((d) => j.viewAt === undefined || d.at <= j.viewAt);
  const lastKillBetween = (a: number, b: number) => kills.findLast((k) => k.at > a && k.at < b) ?? null;

  const violations: Finding[] = [];
  const slow: Finding[] = [];
  const unfinished: Finding[] = [];
  const notAsPlanned: Finding[] = [];
  if (refusedSubmits > 0)
    violations.push({ id: null, what: `${refusedSubmits} graph jobs refused by the API at submit` });
  // Free → heard (made due), by where the dependencies were; free → started.
  const heard = { sameShard: [] as number[], crossShard: [] as number[], acrossKill: [] as number[] };
  const started = { all: [] as number[], acrossKill: [] as number[] };
  const failWaits: number[] = [];
  const outcomes = {
    succeeded: 0,
    failed: 0,
    dependencyFailed: 0,
    unfinished: 0,
    ranAfterFailedDependency: 0,
  };
  const shapes: Record<string, number> = {};
  const graphs = new Set<number>();
  const shards = new Set<number>();
  let edges = 0;
  let crossShardEdges = 0;
  let dependents = 0;
  let policyRun = 0;
  let lastFinalAt = 0;
  let allFinal = true;
  // What the plan says each job ends as, given how its dependencies were planned to end.
  const planned = new Map<string, string>();
  const plannedOf = (j: SoakJob): string => {
    const known = planned.get(j.id);
    if (known) return known;
    const g = j.graph;
    if (!g) return "?";
    const depsPlanned = g.depIds.map((id) => {
      const dep = byId.get(id);
      return dep ? plannedOf(dep) : "?";
    });
    const runs = g.policy === "run" || depsPlanned.every((p) => p === "succeeded");
    const out = !runs ? DEPENDENCY_FAILED : g.route === "/fail" ? "failed" : "succeeded";
    planned.set(j.id, out);
    return out;
  };

  for (const j of graphJobs) {
    const g = j.graph;
    const v = j.view;
    if (!g) continue;
    if (!graphs.has(g.graph)) {
      graphs.add(g.graph);
      shapes[g.shape] = (shapes[g.shape] ?? 0) + 1;
    }
    const shard = shardOfJobId(j.id);
    if (shard !== null) shards.add(shard);
    edges += g.depIds.length;
    crossShardEdges += g.depIds.filter((id) => shardOfJobId(id) !== shard).length;
    if (g.depIds.length > 0) dependents++;
    if (g.depIds.length > 0 && g.policy === "run") policyRun++;
    if (!v) continue; // lost: counted by analyse()
    const attempts = sortedAttempts(j);
    const first = attempts[0];
    const mine = delsOf(j);
    const deps = g.depIds.map((id) => ({ id, job: byId.get(id) }));
    const depStates = () =>
      deps.map(({ id, job }) => ({
        id,
        status: job?.view?.status ?? "unknown",
        last_error: job?.view?.last_error ?? null,
        decidedAt: job && decidedAt(job) !== null ? new Date(decidedAt(job) as number).toISOString() : null,
      }));
    const evidence = () => ({
      graph: g.graph,
      node: g.node,
      shape: g.shape,
      policy: g.policy,
      status: v.status,
      last_error: v.last_error ?? null,
      blocked_by: v.blocked_by ?? null,
      created_at: v.created_at,
      updated_at: v.updated_at,
      firstStarted: first?.started_at ?? null,
      firstDelivery: mine[0] ? new Date(mine[0].at).toISOString() : null,
      dependencies: depStates(),
    });
    const wrong = (what: string) => violations.push({ id: j.id, what, ...evidence() });

    // --- the job is what was submitted ---
    const shown = [...(v.depends_on ?? [])].sort();
    const sent = [...g.depIds].sort();
    if (shown.join() !== sent.join())
      wrong(`depends_on ${JSON.stringify(shown)} ≠ submitted ${JSON.stringify(sent)}`);
    if (v.on_dependency_failure !== undefined && v.on_dependency_failure !== g.policy)
      wrong(`on_dependency_failure ${v.on_dependency_failure} ≠ submitted ${g.policy}`);

    // --- outcome ---
    const byDependency = failedByDependency(j);
    if (!FINAL.has(v.status)) {
      outcomes.unfinished++;
      allFinal = false;
      unfinished.push({ id: j.id, ...evidence() });
    } else if (byDependency) outcomes.dependencyFailed++;
    else if (v.status === "succeeded") outcomes.succeeded++;
    else outcomes.failed++;
    if (FINAL.has(v.status)) {
      const actual = byDependency ? DEPENDENCY_FAILED : v.status;
      if (actual !== plannedOf(j)) notAsPlanned.push({ id: j.id, planned: plannedOf(j), ...evidence() });
      const at = decidedAt(j);
      if (at !== null) lastFinalAt = Math.max(lastFinalAt, at);
      else allFinal = false;
    }
    if (v.status === "succeeded" && !mine.some((d) => d.status !== null && d.status < 300))
      wrong("succeeded without a 2xx answer from the target");
    if (g.route === "/fail" && v.status === "succeeded") wrong("a /fail job succeeded");
    if (first && (v.blocked_by?.length ?? 0) > 0) wrong("ran, and still lists blocked_by");

    if (g.depIds.length === 0) {
      if (byDependency) wrong("dependency_failed without any dependency");
      continue;
    }
    const depJobs = deps.map((d) => d.job);
    const known = depJobs.every((d) => d?.view);
    const depsFinal = known && depJobs.every((d) => FINAL.has(d?.view?.status ?? ""));
    const depsSucceeded = known && depJobs.every((d) => d?.view?.status === "succeeded");
    const depFailed = depJobs.some(
      (d) => d?.view && d.view.status !== "succeeded" && FINAL.has(d.view.status),
    );
    const created = ms(v.created_at) ?? j.runAtMs;
    const crossShard = g.depIds.some((id) => shardOfJobId(id) !== shardOfJobId(j.id));

    /** Measured from when it was free to move, or from the restart after a kill in between. */
    const waited = (freeAt: number, movedAt: number) => {
      const kill = lastKillBetween(freeAt, movedAt);
      return { from: kill ? kill.readyAt : freeAt, kill };
    };

    if (byDependency) {
      if (attempts.length > 0) wrong("failed with dependency_failed after it ran");
      if (g.policy === "run") wrong('failed with dependency_failed although on_dependency_failure is "run"');
      const failedDeps = depJobs.filter(
        (d): d is SoakJob =>
          d?.view !== null &&
          d?.view !== undefined &&
          d.view.status !== "succeeded" &&
          FINAL.has(d.view.status),
      );
      if (failedDeps.length === 0) {
        wrong("failed with dependency_failed while no dependency failed");
        continue;
      }
      const failedAt = ms(v.updated_at);
      const cause = Math.min(...failedDeps.map((d) => decidedAt(d) ?? Number.POSITIVE_INFINITY));
      if (failedAt !== null && Number.isFinite(cause)) {
        if (failedAt < cause - CLOCK_SLACK_MS)
          wrong("failed with dependency_failed before its dependency failed");
        const free = Math.max(cause, created);
        const { from } = waited(free, failedAt);
        const w = failedAt - from;
        failWaits.push(Math.max(0, failedAt - free));
        if (w > DEPENDENCY_BOUND_MS) slow.push({ id: j.id, heardAfterMs: w, ...evidence() });
      }
      continue;
    }
    if (!first) {
      // Not run and not failed by a dependency: unfinished (listed above), or finished otherwise.
      if (FINAL.has(v.status) && depsSucceeded)
        wrong(`${v.status} without an attempt while its dependencies succeeded`);
      // Still blocked by dependencies that finished: a notification that has not arrived.
      if (depsFinal && !FINAL.has(v.status) && (v.blocked_by?.length ?? 0) > 0) {
        const free = Math.max(created, ...depJobs.map((d) => (d ? (decidedAt(d) ?? 0) : 0)));
        const w = (j.viewAt ?? Date.now()) - waited(free, j.viewAt ?? Date.now()).from;
        if (w > DEPENDENCY_BOUND_MS) slow.push({ id: j.id, blockedForMs: w, ...evidence() });
      }
      continue;
    }
    // It ran: after every dependency succeeded (or, with "run", finished), by both records.
    if (depFailed) outcomes.ranAfterFailedDependency++;
    if (!depsFinal) {
      wrong("ran while a dependency was not finished");
      continue;
    }
    if (!depsSucceeded && g.policy === "fail") wrong("ran although a dependency failed");
    const startedAt = t(first.started_at);
    const dueAt = t(first.scheduled_at);
    const ready = Math.max(...depJobs.map((d) => (d ? (decidedAt(d) ?? Number.NaN) : Number.NaN)));
    if (Number.isFinite(ready) && startedAt < ready - CLOCK_SLACK_MS)
      wrong(`first attempt began ${ready - startedAt} ms before its last dependency finished`);
    else if (Number.isFinite(ready) && dueAt < ready - CLOCK_SLACK_MS)
      wrong(`made due ${ready - dueAt} ms before its last dependency finished`);
    const arrived = mine[0]?.at;
    if (arrived !== undefined) {
      for (const d of depJobs) {
        const answered = d ? decidingAnswerAt(d, delsOf(d)) : null;
        if (answered !== null && arrived < answered - CLOCK_SLACK_MS)
          wrong(`reached the target ${answered - arrived} ms before its dependency ${d?.id} was answered`);
      }
    }
    if (Number.isFinite(ready)) {
      const free = Math.max(ready, created);
      const { from, kill } = waited(free, dueAt);
      (kill ? heard.acrossKill : crossShard ? heard.crossShard : heard.sameShard).push(
        Math.max(0, dueAt - free),
      );
      if (dueAt - from > DEPENDENCY_BOUND_MS)
        slow.push({ id: j.id, heardAfterMs: dueAt - from, ...evidence() });
      const waitedToStart = Math.max(0, startedAt - free);
      started.all.push(waitedToStart);
      if (lastKillBetween(free, startedAt)) started.acrossKill.push(waitedToStart);
    }
  }

  // What each kill caught in flight: graphs begun and not yet final, dependents waiting on their
  // dependencies across it, and dependency edges decided before it whose dependent heard it (was made
  // due, or failed by it) only after it: their notification crossed the crash.
  const movedAt = (j: SoakJob): number => {
    const first = sortedAttempts(j)[0];
    if (first) return t(first.scheduled_at);
    if (failedByDependency(j)) return ms(j.view?.updated_at) ?? Number.POSITIVE_INFINITY;
    return Number.POSITIVE_INFINITY;
  };
  const createdAt = (j: SoakJob) => ms(j.view?.created_at) ?? j.runAtMs;
  const byGraph = new Map<number, SoakJob[]>();
  for (const j of graphJobs) if (j.graph) listIn(byGraph, j.graph.graph).push(j);
  const atKills = kills.map((k) => {
    let dependentsWaiting = 0;
    let edgesInFlight = 0;
    for (const j of graphJobs) {
      if (!j.view || !j.graph || j.graph.depIds.length === 0) continue;
      if (createdAt(j) >= k.at || movedAt(j) <= k.at) continue;
      dependentsWaiting++;
      for (const depId of j.graph.depIds) {
        const dep = byId.get(depId);
        const decided = dep ? decidedAt(dep) : null;
        if (decided !== null && decided < k.at) edgesInFlight++;
      }
    }
    let graphsInFlight = 0;
    for (const list of byGraph.values()) {
      const begun = list.some((j) => createdAt(j) < k.at);
      const open = list.some((j) => (j.view ? (decidedAt(j) ?? Number.POSITIVE_INFINITY) : 0) > k.at);
      if (begun && open) graphsInFlight++;
    }
    return { graphsInFlight, dependentsWaiting, edgesInFlight };
  });

  const lastReadyAt = kills.length > 0 ? Math.max(...kills.map((k) => k.readyAt)) : null;
  const dist = (xs: number[]): Distribution => distribution(xs);
  return {
    mustBeZero: { dependencyViolations: violations.length, slowDependencies: slow.length },
    figures: {
      graphs: graphs.size,
      byShape: shapes,
      jobs: graphJobs.length,
      edges,
      crossShardEdges,
      shards: shards.size,
      dependents,
      policyRun,
      outcomes,
      notAsPlanned: notAsPlanned.length,
      boundMs: DEPENDENCY_BOUND_MS,
      /** Free (last dependency decided, or own submit if later) → the dependent made due, ms. */
      heard: {
        sameShard: dist(heard.sameShard),
        crossShard: dist(heard.crossShard),
        acrossKill: dist(heard.acrossKill),
        all: dist([...heard.sameShard, ...heard.crossShard, ...heard.acrossKill]),
      },
      /** Free → the dependent's first attempt began (with the dispatch's lateness), ms. */
      started: { all: dist(started.all), acrossKill: dist(started.acrossKill) },
      /** Per kill: graphs begun and not final, dependents waiting across it, edges decided before it whose dependent moved after. */
      atKills,
      /** The failing dependency's end → its dependent failed with dependency_failed, ms. */
      failPropagation: dist(failWaits),
      allFinalAfterLastRestartMs:
        allFinal && graphJobs.length > 0 && lastReadyAt !== null
          ? Math.max(0, lastFinalAt - lastReadyAt)
          : null,
    },
    evidence: {
      violations: violations.slice(0, 50),
      slow: slow.slice(0, 20),
      unfinished: unfinished.slice(0, 20),
      notAsPlanned: notAsPlanned.slice(0, 20),
    },
  };
}
