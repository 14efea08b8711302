// The soak's records: the plan, each accepted job with its final view, what the target received, and
// the kills. The analysis reads only these, so it can be run again on the raw records a failed run keeps.
import type { Attempt } from "../../harness/api-types";

export type Kind = "ok" | "rec" | "fail" | "hang";

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
  /** Newest first, the latest 20. */
  attempts: Attempt[];
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
