// A consumer's TypeScript, typechecked by ../package.test.ts in a plain Node project that installed the
// packed client (module and moduleResolution nodenext, strict, the libraries' declarations checked too).
// The types come from the package's dist/*.d.ts through its exports map; each @ts-expect-error below is
// an error only while those types are the generated ones (were they `any`, tsc would report the
// directive unused), so this file fails to check when the declarations or schema.d.ts are lost.
import {
  createSchedulerClient,
  type Job,
  type JobStatus,
  type paths,
  SchedulerError,
  type SubmitJob,
  verifyWebhook,
  WaitTimeoutError,
} from "@edge-scheduler/client";

const client = createSchedulerClient({ baseUrl: "http://127.0.0.1:8787", token: "sk_usr_example" });

const job: SubmitJob = { type: "http", payload: { url: "http://127.0.0.1:9000/" }, priority: 80 };
const submitted: Job = await client.submit(job, { idempotencyKey: "example-1" });
const status: JobStatus = (await client.waitForJob(submitted.id, { timeoutMs: 30_000 })).status;
const { data } = await client.api.GET("/v1/jobs/{id}", { params: { path: { id: submitted.id } } });
const priority: number | undefined = data?.priority;
type Health = paths["/v1/health"]["get"];

// @ts-expect-error: a priority is a number
await client.submit({ type: "noop", priority: "high" });
// @ts-expect-error: the API has no such route
await client.api.GET("/v1/no-such-route");
// @ts-expect-error: not a job status
const wrong: JobStatus = "done";

const body: string = verifyWebhook("{}", new Headers(), ["whsec_new", "whsec_old"]);
const describeError = (err: unknown): string =>
  err instanceof SchedulerError
    ? `${err.status} ${err.code} ${err.retryAfterSeconds ?? ""}`
    : err instanceof WaitTimeoutError
      ? `${err.jobId} still ${err.last.status}`
      : String(err);

export type { Health };
export { body, describeError, priority, status, wrong };
