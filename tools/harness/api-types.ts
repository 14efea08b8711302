// The parts of the API's objects (docs/design.md) that the harnesses read.

export interface Attempt {
  number: number;
  status: string;
  scheduled_at: string;
  started_at: string;
  finished_at: string | null;
  lateness_ms: number;
  error: string | null;
}

export interface Job {
  id: string;
  name: string | null;
  status: string;
  priority: number;
  run_at: string;
  runs: number;
  current_retries: number;
  result: { status?: number } | null;
  last_error: string | null;
  resources: Record<string, number>;
  created_at: string;
  updated_at: string;
  /** Newest first, the latest 20. */
  attempts: Attempt[];
}

export interface JobPage {
  jobs: Job[];
  next_cursor: string | null;
}

export interface Pool {
  name: string;
  capacity: number;
  in_use: number;
  waiting: number;
}

/** POST /v1/admin/users: the key and signing secret are shown this once. */
export interface CreatedUser {
  user_id: string;
  name: string;
  api_key: string;
  signing_secret: string;
}

export const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

/** The first attempt (attempts are listed newest first). */
export const firstAttempt = (job: Job): Attempt | undefined => job.attempts[job.attempts.length - 1];
/** The latest attempt. */
export const lastAttempt = (job: Job): Attempt | undefined => job.attempts[0];
