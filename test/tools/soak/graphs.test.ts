// The soak's dependency graphs: the seeded plan, the bodies it submits, and the verdicts on hand-made
// records (each must-be-0 figure must catch what it claims to, and nothing else).
//   npx vitest run --project tooling soak/

import assert from "node:assert/strict";
import { describe, test } from "vitest";
import type { Attempt } from "../../../tools/harness/api-types";
import { analyse } from "../../../tools/soak/lib/analyse";
import { analyseGraphs, DEPENDENCY_BOUND_MS } from "../../../tools/soak/lib/analyse-graphs";
import { graphCounts, graphJobBody, planGraphs, SHAPES } from "../../../tools/soak/lib/graphs";
import { seededRandom } from "../../../tools/soak/lib/random";
import type { GraphNodeInfo, JobView, SoakDelivery, SoakJob } from "../../../tools/soak/lib/types";

const T = Date.parse("2026-11-26T10:00:00.000Z");
const at = (s: number) => new Date(T + s * 1000).toISOString();
/** A job id on `shard` (the shape src/core/ids.ts gives them). */
const id = (shard: number, n: number) => `job_${shard}_${String(n).padStart(26, "0")}`;
const attempt = (
  number: number,
  status: string,
  started: number,
  finished: number | null,
  scheduled = started,
): Attempt => ({
  number,
  status,
  scheduled_at: at(scheduled),
  started_at: at(started),
  finished_at: finished === null ? null : at(finished),
  lateness_ms: Math.round((started - scheduled) * 1000),
  error: status === "failed" ? "HTTP 500" : null,
});

interface Node {
  id: string;
  deps?: string[];
  policy?: "fail" | "run";
  route?: "/ok" | "/fail";
  view: Partial<JobView> | null;
}

const graphJob = ({ id: jobId, deps = [], policy = "fail", route = "/ok", view }: Node): SoakJob => {
  const graph: GraphNodeInfo = {
    graph: 0,
    node: 0,
    shape: "chain",
    route,
    policy,
    deps: deps.map((_, i) => i),
    depIds: deps,
    via: "single",
  };
  return {
    id: jobId,
    kind: "dep",
    user: 0,
    index: 0,
    priority: 50,
    offsetMs: 0,
    runAtMs: T,
    maxRetries: route === "/fail" ? 0 : 3,
    viewAt: T + 1_000_000,
    graph,
    view: view && {
      id: jobId,
      status: "scheduled",
      runs: 0,
      current_retries: 0,
      created_at: at(0),
      updated_at: at(0),
      last_error: null,
      depends_on: deps,
      on_dependency_failure: policy,
      blocked_by: [],
      attempts: [],
      ...view,
    },
  };
};

/** Finished views, newest attempt first as the API lists them; `due`: when it was made due. */
const succeeded = (started: number, finished: number, due = started): Partial<JobView> => ({
  status: "succeeded",
  runs: 1,
  updated_at: at(finished),
  attempts: [attempt(1, "succeeded", started, finished, due)],
});
const failed = (started: number, finished: number): Partial<JobView> => ({
  status: "failed",
  runs: 1,
  last_error: "HTTP 500",
  updated_at: at(finished),
  attempts: [attempt(1, "failed", started, finished)],
});
const failedByDependency = (when: number, blockedBy: string[]): Partial<JobView> => ({
  status: "failed",
  runs: 1,
  last_error: "dependency_failed",
  updated_at: at(when),
  blocked_by: blockedBy,
  attempts: [],
});
const delivery = (jobId: string, arrived: number, answered: number, status = 200): SoakDelivery => ({
  wid: `${jobId}:0`,
  jobId,
  occurrence: 0,
  route: status === 200 ? "/ok" : "/fail",
  at: T + arrived * 1000,
  answeredAt: T + answered * 1000,
  status,
  hungUp: false,
  signature: true,
});

const A = id(0, 1);
const B = id(1, 2);
const C = id(1, 3);

const check = (
  nodes: Node[],
  deliveries: SoakDelivery[],
  kills: { at: number; readyAt: number }[] = [],
  refusedSubmits = 0,
) => analyseGraphs({ jobs: nodes.map(graphJob), deliveries, kills, refusedSubmits });

describe("planGraphs", () => {
  const plan = (seed: number) =>
    planGraphs({
      graphs: 40,
      users: 3,
      firstUser: 10,
      firstIndex: 300,
      windowMs: 30_000,
      random: seededRandom(seed),
    });

  test("is reproducible from its seed", () => {
    assert.deepEqual(plan(7), plan(7));
    assert.notDeepEqual(plan(7), plan(8));
  });

  test("graphs of 3-10 jobs, every shape, each dependency an earlier job submitted no later", () => {
    const plans = plan(42);
    assert.deepEqual(new Set(plans.map((p) => p.shape)), new Set(SHAPES));
    const indices = plans.flatMap((p) => p.nodes.map((n) => n.index));
    assert.deepEqual(
      indices,
      Array.from({ length: indices.length }, (_, i) => 300 + i),
    );
    for (const p of plans) {
      assert.ok(p.nodes.length >= 3 && p.nodes.length <= 10, `${p.shape}: ${p.nodes.length} jobs`);
      assert.ok(p.user >= 10 && p.user < 13);
      assert.ok(p.startMs >= 0 && p.startMs < 24_000);
      assert.deepEqual(
        p.steps.flatMap((s) => s.nodes).sort((a, b) => a - b),
        [...p.nodes.keys()],
      );
      const stepOf = (node: number) => p.steps.findIndex((s) => s.nodes.includes(node));
      for (const n of p.nodes)
        for (const d of n.deps) {
          assert.ok(d < n.node);
          assert.ok(stepOf(d) <= stepOf(n.node));
          // Within one step only a batch, where it is an earlier item ("@N").
          if (stepOf(d) === stepOf(n.node)) assert.equal(p.steps[stepOf(d)]?.via, "batch");
        }
      // A failing job is one others depend on.
      for (const n of p.nodes.filter((x) => x.route === "/fail"))
        assert.ok(p.nodes.some((x) => x.deps.includes(n.node)));
    }
    // Start times in order: the submitter sleeps until each.
    assert.deepEqual(
      plans.map((p) => p.startMs),
      [...plans.map((p) => p.startMs)].sort((a, b) => a - b),
    );
  });

  test("with kills planned, every other graph is aimed at one: submitted before it, roots due around it", () => {
    const plans = planGraphs({
      graphs: 40,
      users: 2,
      firstUser: 10,
      firstIndex: 300,
      windowMs: 30_000,
      killsAtMs: [8_000, 20_000],
      random: seededRandom(9),
    });
    const aimed = plans.filter((p) => p.atKill !== null);
    assert.equal(aimed.length, 20);
    assert.deepEqual(new Set(aimed.map((p) => p.atKill)), new Set([0, 1]));
    for (const p of aimed) {
      const kill = p.atKill === 0 ? 8_000 : 20_000;
      assert.ok(p.startMs >= kill - 6_000 && p.startMs <= kill - 500, `start ${p.startMs}`);
      const due = p.startMs + p.rootDelayMs;
      assert.ok(due >= kill - 800 && due <= kill + 300, `roots due ${due}`);
      assert.ok(p.stepGapMs >= 100 && p.stepGapMs <= 700);
    }
    assert.ok(plans.filter((p) => p.atKill === null).every((p) => p.startMs < 24_000 && p.stepGapMs === 0));
  });

  test("some graphs fail a dependency, some dependents run anyway, some race their roots", () => {
    const plans = plan(3);
    const nodes = plans.flatMap((p) => p.nodes);
    assert.ok(nodes.some((n) => n.route === "/fail"));
    assert.ok(nodes.some((n) => n.policy === "run"));
    assert.ok(plans.some((p) => p.rootDelayMs === 0) && plans.some((p) => p.rootDelayMs > 0));
    const counts = graphCounts(plans);
    assert.equal(counts.jobs, nodes.length);
    assert.equal(
      counts.edges,
      nodes.reduce((s, n) => s + n.deps.length, 0),
    );
  });

  test("the bodies: depends_on as given, run_at for roots only, no retry for a failing job", () => {
    const p = plan(5).find((x) => x.nodes.some((n) => n.route === "/fail")) ?? plan(5)[0];
    assert.ok(p);
    const url = (route: string) => `http://127.0.0.1:1${route}`;
    const failing = p.nodes.find((n) => n.route === "/fail") ?? p.nodes[1];
    assert.ok(failing);
    const body = graphJobBody(p, { ...failing, policy: "run" }, ["@0", A], undefined, url, 900);
    assert.equal(body.max_retries, 0);
    assert.deepEqual(body.depends_on, ["@0", A]);
    assert.equal(body.on_dependency_failure, "run");
    assert.equal("run_at" in body, false);
    assert.equal(body.payload.url, url("/fail"));
    assert.equal(body.payload.body.k, "dep");
    const root = graphJobBody(p, { ...failing, route: "/ok", policy: "fail" }, [], T, url, 900);
    assert.equal(root.run_at, at(0));
    assert.equal(root.max_retries, 3);
    assert.equal(root.timeout_seconds, 900);
    assert.equal("depends_on" in root, false);
    assert.equal("on_dependency_failure" in root, false);
  });
});

describe("analyseGraphs", () => {
  test("a chain across shards, each job started after the one before succeeded, passes", () => {
    const g = check(
      [
        { id: A, view: succeeded(0, 0.2) },
        { id: B, deps: [A], view: succeeded(0.5, 0.7) },
        { id: C, deps: [B], view: succeeded(0.9, 1) },
      ],
      [delivery(A, 0.1, 0.15), delivery(B, 0.6, 0.65), delivery(C, 0.95, 0.96)],
    );
    assert.deepEqual(g.mustBeZero, { dependencyViolations: 0, slowDependencies: 0 });
    assert.equal(g.figures.edges, 2);
    assert.equal(g.figures.crossShardEdges, 1);
    assert.equal(g.figures.shards, 2);
    assert.equal(g.figures.heard.crossShard.max, 300);
    assert.equal(g.figures.heard.sameShard.max, 200);
    assert.equal(g.figures.started.all.max, 300);
    assert.deepEqual(g.figures.outcomes, {
      succeeded: 3,
      failed: 0,
      dependencyFailed: 0,
      unfinished: 0,
      ranAfterFailedDependency: 0,
    });
  });

  test("a dependent that began before its dependency succeeded is a violation, by either record", () => {
    const early = check(
      [
        { id: A, view: succeeded(0, 1) },
        { id: B, deps: [A], view: succeeded(0.5, 1.5) },
      ],
      [delivery(A, 0.1, 0.9), delivery(B, 1.2, 1.3)],
    );
    assert.equal(early.mustBeZero.dependencyViolations, 1);
    assert.match(String(early.evidence.violations[0]?.what), /before its last dependency finished/);
    // The shards' records agree, but the target saw the dependent before it answered the dependency.
    const target = check(
      [
        { id: A, view: succeeded(0, 1) },
        { id: B, deps: [A], view: succeeded(1.1, 1.5) },
      ],
      [delivery(A, 0.1, 0.9), delivery(B, 0.5, 1.3)],
    );
    assert.equal(target.mustBeZero.dependencyViolations, 1);
    assert.match(String(target.evidence.violations[0]?.what), /before its dependency .* was answered/);
    // Made due before its dependency finished, though dispatched only after.
    const due = check(
      [
        { id: A, view: succeeded(0, 1) },
        { id: B, deps: [A], view: succeeded(1.2, 1.5, 0.5) },
      ],
      [delivery(A, 0.1, 0.9), delivery(B, 1.25, 1.3)],
    );
    assert.equal(due.mustBeZero.dependencyViolations, 1);
    assert.match(String(due.evidence.violations[0]?.what), /made due .* before its last dependency finished/);
  });

  test("policy fail: the dependent of a failed job fails with dependency_failed and never runs", () => {
    const ok = check(
      [
        { id: A, route: "/fail", view: failed(0, 0.2) },
        { id: B, deps: [A], view: failedByDependency(0.4, [A]) },
        { id: C, deps: [B], view: failedByDependency(0.4, [B]) },
      ],
      [delivery(A, 0.1, 0.15, 500)],
    );
    assert.deepEqual(ok.mustBeZero, { dependencyViolations: 0, slowDependencies: 0 });
    assert.equal(ok.figures.outcomes.dependencyFailed, 2);
    assert.equal(ok.figures.failPropagation.max, 200);
    assert.equal(ok.figures.notAsPlanned, 0);

    const ran = check(
      [
        { id: A, route: "/fail", view: failed(0, 0.2) },
        { id: B, deps: [A], view: succeeded(0.5, 0.6) },
      ],
      [delivery(A, 0.1, 0.15, 500), delivery(B, 0.55, 0.56)],
    );
    assert.equal(ran.mustBeZero.dependencyViolations, 1);
    assert.match(String(ran.evidence.violations[0]?.what), /ran although a dependency failed/);

    const wrongly = check(
      [
        { id: A, view: succeeded(0, 0.2) },
        { id: B, deps: [A], view: failedByDependency(0.4, [A]) },
      ],
      [delivery(A, 0.1, 0.15)],
    );
    assert.equal(wrongly.mustBeZero.dependencyViolations, 1);
    assert.match(String(wrongly.evidence.violations[0]?.what), /while no dependency failed/);
  });

  test('policy "run": the dependent runs once its failed dependency finished, and must not fail by it', () => {
    const ok = check(
      [
        { id: A, route: "/fail", view: failed(0, 0.2) },
        { id: B, deps: [A], policy: "run", view: succeeded(0.5, 0.6) },
      ],
      [delivery(A, 0.1, 0.15, 500), delivery(B, 0.55, 0.56)],
    );
    assert.deepEqual(ok.mustBeZero, { dependencyViolations: 0, slowDependencies: 0 });
    assert.equal(ok.figures.outcomes.ranAfterFailedDependency, 1);
    assert.equal(ok.figures.policyRun, 1);

    const failedAnyway = check(
      [
        { id: A, route: "/fail", view: failed(0, 0.2) },
        { id: B, deps: [A], policy: "run", view: failedByDependency(0.4, [A]) },
      ],
      [delivery(A, 0.1, 0.15, 500)],
    );
    assert.equal(failedAnyway.mustBeZero.dependencyViolations, 1);
  });

  test("a dependent must be made due within the bound of being free, counted from the restart across a kill", () => {
    const late = DEPENDENCY_BOUND_MS / 1000 + 5;
    // Heard at once, dispatched late (a backlog): the dispatch's lateness, not a slow notification.
    const backlog = check(
      [
        { id: A, view: succeeded(0, 0.2) },
        { id: B, deps: [A], view: succeeded(200, 200.1, 0.4) },
      ],
      [delivery(A, 0.1, 0.15), delivery(B, 200.05, 200.06)],
    );
    assert.deepEqual(backlog.mustBeZero, { dependencyViolations: 0, slowDependencies: 0 });
    assert.equal(backlog.figures.heard.crossShard.max, 200);
    assert.equal(backlog.figures.started.all.max, 199_800);
    const slow = check(
      [
        { id: A, view: succeeded(0, 0.2) },
        { id: B, deps: [A], view: succeeded(late, late + 0.1) },
      ],
      [delivery(A, 0.1, 0.15), delivery(B, late + 0.05, late + 0.06)],
    );
    assert.equal(slow.mustBeZero.slowDependencies, 1);
    assert.equal(slow.mustBeZero.dependencyViolations, 0);
    // A kill at 1 s, healthy again at 40 s: 25 s after the restart is within the bound.
    const afterKill = check(
      [
        { id: A, view: succeeded(0, 0.2) },
        { id: B, deps: [A], view: succeeded(65, 65.1) },
      ],
      [delivery(A, 0.1, 0.15), delivery(B, 65.05, 65.06)],
      [{ at: T + 1_000, readyAt: T + 40_000 }],
    );
    assert.equal(afterKill.mustBeZero.slowDependencies, 0);
    assert.equal(afterKill.figures.heard.acrossKill.max, 64_800);
    assert.equal(afterKill.figures.started.acrossKill.max, 64_800);
    // Never started, read 100 s after its dependency succeeded: a lost notification.
    const stuck = check(
      [
        { id: A, view: succeeded(0, 0.2) },
        { id: B, deps: [A], view: { blocked_by: [A] } },
      ],
      [delivery(A, 0.1, 0.15)],
    );
    assert.equal(stuck.mustBeZero.slowDependencies, 1);
    assert.equal(stuck.figures.outcomes.unfinished, 1);
    assert.equal(stuck.evidence.unfinished[0]?.id, B);
    assert.equal(stuck.figures.allFinalAfterLastRestartMs, null);
    // Made due but not dispatched: a lost job (lib/analyse.ts), not a notification that did not arrive.
    const undispatched = check(
      [
        { id: A, view: succeeded(0, 0.2) },
        { id: B, deps: [A], view: { status: "scheduled", blocked_by: [] } },
      ],
      [delivery(A, 0.1, 0.15)],
    );
    assert.equal(undispatched.mustBeZero.slowDependencies, 0);
  });

  test("what a kill caught in flight: waiting dependents, and edges decided before it, moved after", () => {
    const kill = { at: T + 1_000, readyAt: T + 20_000 };
    const g = check(
      [
        { id: A, view: succeeded(0, 0.5) },
        { id: B, deps: [A], view: succeeded(21, 21.1) },
        { id: C, deps: [B], view: succeeded(21.5, 21.6) },
        { id: id(2, 4), deps: [A], view: succeeded(0.7, 0.8) },
      ],
      [
        delivery(A, 0.1, 0.2),
        delivery(B, 21.05, 21.06),
        delivery(C, 21.55, 21.56),
        delivery(id(2, 4), 0.75, 0.76),
      ],
      [kill],
    );
    assert.deepEqual(g.mustBeZero, { dependencyViolations: 0, slowDependencies: 0 });
    // B and C were waiting at the kill; only A → B had been decided before it.
    assert.deepEqual(g.figures.atKills, [{ graphsInFlight: 1, dependentsWaiting: 2, edgesInFlight: 1 }]);
    assert.equal(g.figures.heard.acrossKill.n, 1);
  });

  test("the job must show what was submitted, and a refused submit is a violation", () => {
    const g = check(
      [
        { id: A, view: succeeded(0, 0.2) },
        { id: B, deps: [A], view: { ...succeeded(0.5, 0.6), depends_on: [], on_dependency_failure: "run" } },
      ],
      [delivery(A, 0.1, 0.15), delivery(B, 0.55, 0.56)],
      [],
      2,
    );
    assert.equal(g.mustBeZero.dependencyViolations, 3);
  });

  test("the general checks accept a job failed by its dependency without an attempt", () => {
    const jobs = [
      graphJob({ id: A, route: "/fail", view: failed(0, 0.2) }),
      graphJob({ id: B, deps: [A], view: failedByDependency(0.4, [A]) }),
    ];
    const a = analyse({
      jobs,
      deliveries: [delivery(A, 0.1, 0.15, 500)],
      kills: [{ at: T - 10_000, readyAt: T - 5_000 }],
      faultWindow: { preMs: 10_000, postMs: 10_000 },
    });
    assert.equal(a.mustBeZero.invariantViolations, 0);
    assert.equal(a.mustBeZero.lostJobs, 0);
    assert.equal(a.crashRecovery.allOneShotsFinalAfterLastRestartMs, 5_400);
  });
});
