// @edge-scheduler/client: the scheduler's typed API client (see README.md).
export {
  createSchedulerClient,
  type ListFilter,
  type SchedulerClient,
  type SchedulerOptions,
  type TraceOptions,
  type WaitOptions,
} from "./client";
export { SchedulerError, WaitTimeoutError } from "./errors";
export type { components, operations, paths } from "./schema";
export * from "./types";
export type { PollTiming } from "./wait";
export { deliveryOf, verifyWebhook, type WebhookHeaders } from "./webhook";
