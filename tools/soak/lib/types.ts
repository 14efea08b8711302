// The soak's records: the plan, each accepted job with its final view, what the target received, and
// the kills. The analysis reads only these, so it can be run again on the raw records a failed run keeps.
import type { Attempt } from "../../harness/api-types";

/** The kinds of the seeded plan (lib/workload.ts). */
export type PlannedKind = "ok" | "rec" | "fail" | "hang";
/** `dep`: a job of a dependency graph (lib/graphs.ts), whatever its route. */
export type Kind = PlannedKind | "dep";

export interface PlannedJob {
  index: number;
  kind: Kind;
  /** Index of the owning user. */
  user: number;
  priority: number;
  /** run_at as an offset from the start of the window (ms). */
  offsetMs: number;
  /** Recurring jobs only. */
  intervalSeconds?: number;
}

/** What GET /v1/jobs/:id (the shard) says of a job, as far as the checks read it. */
export interface JobView {
  id: string;
  status: string;
  runs: number;
  current_retries: number;
  updated_at?: string;
  created_at?: string;
  last_error?: string | null;
  depends_on?: string[];
  on_dependency_failure?: string;
  blocked_by?: string[];
  /** Newest first, the latest 20. */
  attempts: Attempt[];
}

/** Where a graph job sits in its graph (lib/graphs.ts), with what the submit resolved. */
export interface GraphNodeInfo {
  graph: number;
  node: number;
  shape: string;
  route: "/ok" | "/fail";
  /** on_dependency_failure as submitted (`fail` is the default and then left out of the body). */
  policy: "fail" | "run";
  /** The graph's nodes it depends on. */
  deps: number[];
  /** Their job ids, as the submits answered them. */
  depIds: string[];
  /** `single`: POST /v1/jobs; `batch`: an item of POST /v1/jobs/batch. */
  via: "single" | "batch";
}

/** A job the API accepted. */
export interface SoakJob extends PlannedJob {
  id: string;
  runAtMs: number;
  maxRetries: number;
  token?: string;
  view: JobView | null;
  /** When `view` was read. */
  viewAt?: number;
  cancelAt?: number;
  cancelled?: boolean;
  /** Graph jobs only. */
  graph?: GraphNodeInfo;
}

/** One request the target received, with what the payload says of its job. */
export interface SoakDelivery {
  /** webhook-id: `<job id>:<occurrence>`. */
  wid: string;
  jobId: string;
  occurrence: number | null;
  /** The planned job's index, from the payload. */
  index?: number | null;
  route: string;
  at: number;
  status: number | null;
  answeredAt?: number | null;
  hungUp: boolean;
  signature: boolean | null;
  /** Set by the analysis: the attempt the delivery belongs to. */
  attempt?: number | null;
}

export interface Kill {
  at: number;
  goneAt: number;
  readyAt: number;
  downMs: number;
  atWindowS: number;
  targetRequestsOpenAtKill: number;
  deliveriesBeforeKill: number;
}
