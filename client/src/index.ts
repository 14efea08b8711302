// @edge-scheduler/client: the scheduler's typed API client (see README.md).
export {
  createSchedulerClient,
  type ListFilter,
  type SchedulerClient,
  type SchedulerOptions,
  type TraceOptions,
  type WaitOptions,
} from "./client.js";
export { SchedulerError, WaitTimeoutError } from "./errors.js";
export type { components, operations, paths } from "./schema.js";
export * from "./types.js";
export type { PollTiming } from "./wait.js";
export { type JobWatch, type WatchOptions, watchJob, watchUrl } from "./watch.js";
export { deliveryOf, verifyWebhook, type WebhookHeaders } from "./webhook.js";
