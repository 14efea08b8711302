// Phase 2b, graphs (runs alongside the load, inside the window): each planned dependency graph
// (lib/graphs.ts) submitted at its time, step by step, on a user with several shards. Every submit
// carries an Idempotency-Key (the header alone, `idempotency_key` per batch item) and is retried across
// crashes, so a kill between a submit and its answer creates nothing twice. A refusal (a 4xx, or a
// batch item's 409/429) is a finding: every id a graph names was acknowledged before.
import type { CreatedUser, Job } from "../../harness/api-types";
import { mapLimit, sleep } from "../../harness/util";
import { type GraphPlan, graphJobBody } from "../lib/graphs";
import type { SoakJob } from "../lib/types";
import type { Killer } from "./kills";
import type { Soak } from "./start";

export interface GraphSubmits {
  /** Requests: POST /v1/jobs for a job alone, POST /v1/jobs/batch for several. */
  requests: number;
  accepted: number;
  /** Accepted jobs answered as a replay (200) of a first try whose answer a kill cut off. */
  replayed: number;
  /** Requests that took more than one try (a kill). */
  retried: number;
  /** Jobs the API refused (4xx, or a batch item's 409/429): must not happen. */
  refused: number;
  /** Jobs not submitted: their request failed for good (the server stayed away), or a job they name was not created. */
  notSubmitted: number;
  /** Graphs whose first submit went after their planned time by more than 1 s (the server was down). */
  lateStarts: number;
  failures: string[];
}

type BatchReply = { results: ({ status: number; job: Job } | { status: number; error: unknown })[] };

/**
 * Submits every graph at T0 + its start (at most 8 graphs submitting at once); resolves when all are
 * in (or given up). The graph jobs are pushed to `jobs` as they are accepted.
 */
export async function submitGraphs(
  soak: Soak,
  plans: GraphPlan[],
  T0: number,
  killer: Killer,
  jobs: SoakJob[],
): Promise<GraphSubmits> {
  const { api, target, opts, runId, users } = soak;
  const s: GraphSubmits = {
    requests: 0,
    accepted: 0,
    replayed: 0,
    retried: 0,
    refused: 0,
    notSubmitted: 0,
    lateStarts: 0,
    failures: [],
  };
  const failure = (what: string) => {
    if (s.failures.length < 20) s.failures.push(what.slice(0, 300));
  };

  const submitGraph = async (plan: GraphPlan) => {
    await sleep(T0 + plan.startMs - Date.now());
    if (killer.failure()) return;
    const startedAt = Date.now();
    if (startedAt > T0 + plan.startMs + 1_000) s.lateStarts++;
    const user = users[plan.user] as CreatedUser;
    const rootsDue = Math.max(startedAt, T0 + plan.startMs + plan.rootDelayMs);
    const ids = new Map<number, string>();
    const key = (node: number) => `soak-${runId}-g${plan.graph}-${node}`;
    const accept = (node: number, job: Job, status: number, body: { max_retries: number }) => {
      const n = plan.nodes[node];
      if (!n) return;
      s.accepted++;
      if (status === 200) s.replayed++;
      ids.set(node, job.id);
      jobs.push({
        index: n.index,
        kind: "dep",
        user: plan.user,
        priority: n.priority,
        offsetMs: (n.deps.length === 0 ? rootsDue : startedAt) - T0,
        id: job.id,
        runAtMs: Date.parse(job.run_at),
        maxRetries: body.max_retries,
        token: user.api_key,
        view: null,
        graph: {
          graph: plan.graph,
          node: n.node,
          shape: plan.shape,
          route: n.route,
          policy: n.policy,
          deps: n.deps,
          depIds: n.deps.map((d) => ids.get(d) ?? "?"),
          via: plan.steps.find((st) => st.nodes.includes(node))?.via ?? "single",
        },
      });
    };
    for (const [i, step] of plan.steps.entries()) {
      if (i > 0) await sleep(plan.stepGapMs);
      // A job naming one that was not created cannot be submitted: the rest of the graph is dropped.
      const missing = step.nodes.some((node) =>
        plan.nodes[node]?.deps.some((d) => !step.nodes.includes(d) && !ids.has(d)),
      );
      if (missing || killer.failure()) return;
      const bodies = step.nodes.map((node) => {
        const n = plan.nodes[node] as GraphPlan["nodes"][number];
        const dependsOn = n.deps.map((d) => {
          const at = step.via === "batch" ? step.nodes.indexOf(d) : -1;
          return at >= 0 ? `@${at}` : (ids.get(d) as string);
        });
        return graphJobBody(
          plan,
          n,
          dependsOn,
          n.deps.length === 0 ? rootsDue : undefined,
          target.url,
          opts.okTimeout,
        );
      });
      s.requests++;
      try {
        if (step.via === "single") {
          const node = step.nodes[0] as number;
          const body = bodies[0] as (typeof bodies)[number];
          const r = await api.call<Job>("POST", "/v1/jobs", {
            token: user.api_key,
            body,
            headers: { "idempotency-key": key(node) },
            retryForMs: 240_000,
          });
          if (r.tries > 1) s.retried++;
          if (r.status === 201 || r.status === 200) accept(node, r.body, r.status, body);
          else {
            s.refused++;
            failure(`graph ${plan.graph} node ${node}: ${r.status} ${JSON.stringify(r.body)}`);
          }
        } else {
          const r = await api.call<BatchReply>("POST", "/v1/jobs/batch", {
            token: user.api_key,
            body: { jobs: bodies.map((b, k) => ({ ...b, idempotency_key: key(step.nodes[k] as number) })) },
            retryForMs: 240_000,
          });
          if (r.tries > 1) s.retried++;
          if (r.status !== 201) {
            s.refused += step.nodes.length;
            failure(`graph ${plan.graph} batch: ${r.status} ${JSON.stringify(r.body)}`);
          } else {
            r.body.results.forEach((item, k) => {
              const node = step.nodes[k] as number;
              if ((item.status === 201 || item.status === 200) && "job" in item)
                accept(node, item.job, item.status, bodies[k] as (typeof bodies)[number]);
              else {
                s.refused++;
                failure(`graph ${plan.graph} node ${node} (batch item ${k}): ${JSON.stringify(item)}`);
              }
            });
          }
        }
      } catch (err) {
        failure(`graph ${plan.graph}: ${String((err as Error).message ?? err)}`);
      }
    }
  };

  await mapLimit(plans, 8, submitGraph);
  // A request that failed for good (or a refusal) leaves its jobs and every later one of the graph out.
  const planned = plans.reduce((sum, p) => sum + p.nodes.length, 0);
  s.notSubmitted = planned - s.accepted - s.refused;
  return s;
}
