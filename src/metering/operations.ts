// Billed operations, counted where they happen. On Cloudflare a job is bought one operation at a time
// (Durable Object requests, SQLite rows, queue messages, D1 rows, Worker invocations), so the code
// counts them by phase of a job's life. The counts stay in the isolate (tests read them) and, with
// LOG_OPERATIONS=true, each is also logged as one `operations` event (the cost benchmark sums those).
// Pure: no `cloudflare:*` imports.

import { log } from "../log";

export const PHASES = [
  "submit",
  "claim",
  "begin",
  "heartbeat",
  "finish",
  "index",
  // A job's callback (callback_url): recording, sending, delivering and settling it.
  "callback",
  // Retention's removal of a finished job: its index row, its shard rows, its result objects.
  "retention",
  "api",
  "consume",
  "other",
] as const;
export type Phase = (typeof PHASES)[number];

export interface OperationCounts {
  /** Durable Object requests: every RPC call and every alarm invocation is one. */
  doRequests: number;
  sqlRowsRead: number;
  sqlRowsWritten: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  /** Messages sent to a queue; each is then read and acked once (three billed queue operations). */
  queueMessages: number;
  workerInvocations: number;
  /**
   * Objects deleted from R2 (a removed job's results). R2 bills no delete, so it is no price's input
   * (bench/cost/price.ts) and optional here; counted so storage is seen to be released.
   */
  r2Deletes?: number;
}

export const noOperations = (): OperationCounts => ({
  doRequests: 0,
  sqlRowsRead: 0,
  sqlRowsWritten: 0,
  d1RowsRead: 0,
  d1RowsWritten: 0,
  queueMessages: 0,
  workerInvocations: 0,
  r2Deletes: 0,
});

const totals = new Map<Phase, OperationCounts>();
let logging = false;

/** Turns the `operations` log events on or off (LOG_OPERATIONS); counting is always on. */
export function logOperations(on: boolean): void {
  logging = on;
}

export function recordOperations(phase: Phase, counts: Partial<OperationCounts>): void {
  const total = totals.get(phase) ?? noOperations();
  for (const [k, v] of Object.entries(counts) as [keyof OperationCounts, number][])
    total[k] = (total[k] ?? 0) + v;
  totals.set(phase, total);
  if (logging) log("operations", { phase, ...counts });
}

/** What this isolate has counted since the last reset, by phase. */
export function operationTotals(): Partial<Record<Phase, OperationCounts>> {
  return Object.fromEntries([...totals].map(([phase, c]) => [phase, { ...c }]));
}

export function resetOperationTotals(): void {
  totals.clear();
}

/** The sum over phases. */
export function sumOperations(byPhase: Partial<Record<Phase, OperationCounts>>): OperationCounts {
  const sum = noOperations();
  for (const counts of Object.values(byPhase))
    for (const [k, v] of Object.entries(counts) as [keyof OperationCounts, number][])
      sum[k] = (sum[k] ?? 0) + v;
  return sum;
}
