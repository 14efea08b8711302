// The soak's dependency graphs (docs/design.md "Dependencies"): a deterministic (seeded) plan of small
// graphs, 3-10 http jobs each, owned by users with several shards, submitted while the run window runs
// (so kills fall between a graph's submits, and between a dependency finishing and its dependents
// hearing it).
//
//   chain    3-6 jobs, each submitted alone (POST /v1/jobs with an Idempotency-Key) naming the one
//            before: the key places each on its own shard, so most links cross shards
//   fan-in   2-5 roots, a join naming them all as "@N", sometimes a tail after the join: one
//            POST /v1/jobs/batch (a graph tied by "@N" lives on one shard)
//   diamond  a root alone; then one batch of 2-4 middles naming the root's id and a join naming the
//            middles as "@N" (and sometimes the root's id as well); then a tail alone naming the join
//   fan-out  a root alone; 2-5 middles alone, each naming the root; a sink alone naming every middle
//            (a fan-in across shards)
//
// About a third of the graphs have one job that fails (`/fail`, which answers 500, with max_retries
// 0) among the jobs others depend on; about a quarter of the dependents say on_dependency_failure
// "run".
//
// When: half the graphs (all of them without kills) start at a uniform time over the first 80 % of the
// window; a third of those "race": their roots are due at once, so dependencies may finish while the
// dependents are still being submitted (the API's read of a finished dependency, and a subscribe that
// finds it finished); the others' roots are due 2-5 s after the first submit. The other half are aimed
// at a planned kill: first submit 0.5-6 s before it, 0.1-0.7 s between their submits, roots due from
// 0.8 s before to 0.3 s after it, so at each kill graphs are being submitted (a submit retried across
// the crash), dependencies are finishing and their dependents are waiting to hear it (the outbox's
// messages then cross the crash).
//
// Times are offsets (ms) from T0, the start of the run window, as for the plan's other jobs.

/** A graph's shape (the comment above). */
export type Shape = "chain" | "fan-in" | "diamond" | "fan-out";
export const SHAPES: readonly Shape[] = ["chain", "fan-in", "diamond", "fan-out"];

export interface GraphNodePlan {
  node: number;
  /** The job's plan index (after the plan's other jobs): the payload's `j`. */
  index: number;
  route: "/ok" | "/fail";
  /** on_dependency_failure; `fail` (the default) is left out of the body. */
  policy: "fail" | "run";
  /** The graph's earlier nodes it depends on. */
  deps: number[];
  priority: number;
}

export interface GraphPlan {
  graph: number;
  shape: Shape;
  /** Index of the owning user among the soak's users. */
  user: number;
  /** When its first submit goes, as an offset from T0. */
  startMs: number;
  /** Roots are due this long after the first submit (0: at once, racing their dependents' submits). */
  rootDelayMs: number;
  /** The planned kill (its index) the graph is aimed at, if it is. */
  atKill: number | null;
  /** Pause between one submit's answer and the next submit. */
  stepGapMs: number;
  nodes: GraphNodePlan[];
  /** The submits in order: one node alone (POST /v1/jobs) or several in one POST /v1/jobs/batch. */
  steps: { via: "single" | "batch"; nodes: number[] }[];
}

const pick = <T>(random: () => number, list: readonly T[]): T =>
  list[Math.floor(random() * list.length)] as T;
const between = (random: () => number, lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

/** Nodes and submit steps of one shape, with the sizes drawn. */
function shapeOf(shape: Shape, random: () => number): { deps: number[][]; steps: GraphPlan["steps"] } {
  const singles = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => ({ via: "single" as const, nodes: [from + i] }));
  switch (shape) {
    case "chain": {
      const n = between(random, 3, 6);
      return { deps: Array.from({ length: n }, (_, i) => (i === 0 ? [] : [i - 1])), steps: singles(n) };
    }
    case "fan-in": {
      const roots = between(random, 2, 5);
      const tail = random() < 0.5;
      const deps: number[][] = [...Array.from({ length: roots }, () => []), [...Array(roots).keys()]];
      if (tail) deps.push([roots]);
      return { deps, steps: [{ via: "batch", nodes: [...deps.keys()] }] };
    }
    case "diamond": {
      const middles = between(random, 2, 4);
      const join = middles + 1;
      const deps: number[][] = [[], ...Array.from({ length: middles }, () => [0])];
      deps.push([...Array.from({ length: middles }, (_, i) => i + 1), ...(random() < 0.5 ? [0] : [])]);
      deps.push([join]);
      return {
        deps,
        steps: [
          { via: "single", nodes: [0] },
          { via: "batch", nodes: Array.from({ length: middles + 1 }, (_, i) => i + 1) },
          { via: "single", nodes: [join + 1] },
        ],
      };
    }
    case "fan-out": {
      const middles = between(random, 2, 5);
      const deps: number[][] = [[], ...Array.from({ length: middles }, () => [0])];
      deps.push(Array.from({ length: middles }, (_, i) => i + 1));
      return { deps, steps: singles(deps.length) };
    }
  }
}

/**
 * `graphs` graphs over the users `firstUser`..`firstUser + users - 1` (round-robin), in the order of
 * their first submits (when: the comment above; `killsAtMs`: the planned kills, offsets from T0). Job
 * plan indices start at `firstIndex`.
 */
export function planGraphs({
  graphs,
  users,
  firstUser,
  firstIndex,
  windowMs,
  killsAtMs = [],
  random,
}: {
  graphs: number;
  users: number;
  firstUser: number;
  firstIndex: number;
  windowMs: number;
  killsAtMs?: readonly number[];
  random: () => number;
}): GraphPlan[] {
  const plans: GraphPlan[] = [];
  for (let g = 0; g < graphs; g++) {
    const shape = SHAPES[g % SHAPES.length] as Shape;
    const { deps, steps } = shapeOf(shape, random);
    const depended = [...new Set(deps.flat())];
    const failing = random() < 0.35 ? pick(random, depended) : null;
    const atKill = killsAtMs.length > 0 && g % 2 === 1 ? Math.floor(random() * killsAtMs.length) : null;
    let startMs: number;
    let rootDelayMs: number;
    let stepGapMs = 0;
    if (atKill === null) {
      startMs = Math.floor(random() * windowMs * 0.8);
      rootDelayMs = random() < 1 / 3 ? 0 : between(random, 2_000, 5_000);
    } else {
      const killMs = Math.floor(killsAtMs[atKill] as number);
      startMs = Math.max(0, killMs - between(random, 500, 6_000));
      rootDelayMs = Math.max(0, killMs + between(random, -800, 300) - startMs);
      stepGapMs = between(random, 100, 700);
    }
    plans.push({
      graph: g,
      shape,
      user: firstUser + (g % users),
      startMs,
      rootDelayMs,
      atKill,
      stepGapMs,
      nodes: deps.map((d, node) => ({
        node,
        index: 0,
        route: node === failing ? "/fail" : "/ok",
        policy: d.length > 0 && random() < 0.25 ? "run" : "fail",
        deps: d,
        priority: 20 + Math.floor(random() * 61),
      })),
      steps,
    });
  }
  plans.sort((a, b) => a.startMs - b.startMs || a.graph - b.graph);
  let index = firstIndex;
  for (const p of plans) for (const n of p.nodes) n.index = index++;
  return plans;
}

/** Jobs and dependency edges in a set of planned graphs. */
export function graphCounts(plans: readonly GraphPlan[]): { graphs: number; jobs: number; edges: number } {
  const nodes = plans.flatMap((p) => p.nodes);
  return {
    graphs: plans.length,
    jobs: nodes.length,
    edges: nodes.reduce((sum, n) => sum + n.deps.length, 0),
  };
}

/**
 * The submit body of one graph job: `dependsOn` as the request names them (ids, or "@N" in a batch),
 * `runAtMs` for a root (a dependent is due as soon as its dependencies let it: no run_at). A `/fail`
 * job has no retry, so its one 500 fails it.
 */
export function graphJobBody(
  plan: GraphPlan,
  node: GraphNodePlan,
  dependsOn: string[],
  runAtMs: number | undefined,
  targetUrl: (route: string) => string,
  okTimeoutSeconds: number,
) {
  return {
    type: "http",
    name: `soak-g${plan.graph}-${plan.shape}-${node.node}`,
    priority: node.priority,
    ...(runAtMs === undefined ? {} : { run_at: new Date(runAtMs).toISOString() }),
    payload: {
      url: targetUrl(node.route),
      body: { u: plan.user, j: node.index, k: "dep", g: plan.graph, n: node.node },
    },
    max_retries: node.route === "/fail" ? 0 : 3,
    retry_delay_seconds: 1,
    timeout_seconds: node.route === "/fail" ? 10 : okTimeoutSeconds,
    ...(dependsOn.length > 0 ? { depends_on: dependsOn } : {}),
    ...(node.policy === "run" ? { on_dependency_failure: "run" } : {}),
  };
}
