// Names for the generated types (schema.d.ts) that a caller uses most.
import type { components } from "./schema.js";

type Schemas = components["schemas"];

export type Job = Schemas["Job"];
export type JobStatus = Job["status"];
export type Attempt = Schemas["Attempt"];
export type SubmitJob = Schemas["SubmitJob"];
/** An `http` job's payload: what the webhook call sends. */
export type HttpPayload = Schemas["HttpPayload"];
export type BatchItem = Schemas["SubmitBatch"]["jobs"][number];
export type BatchResult = Schemas["BatchResults"]["results"][number];
export type JobPage = Schemas["JobPage"];
export type Pool = Schemas["Pool"];
/** A job's per-key limits (submit's `flow_control`). */
export type FlowControl = NonNullable<SubmitJob["flow_control"]>;
/** What a job does when a dependency fails or is cancelled (submit's `on_dependency_failure`). */
export type DependencyFailurePolicy = Job["on_dependency_failure"];
/** How a flow-control key stands (GET /v1/flow-control/:key). */
export type FlowKey = Schemas["FlowKey"];
export type ErrorBody = Schemas["Error"]["error"];

/** The statuses a one-shot job ends in. */
export const FINISHED_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];
