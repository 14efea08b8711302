// Dollars per million jobs from operations per job. Pure, so the arithmetic is tested on its own.
import type { OperationCounts } from "../../../src/metering/operations";
import { PRICES_USD as P, QUEUE_OPERATIONS_PER_MESSAGE } from "./prices";

/** The operations the product counts (src/metering), here per job. */
export type PerJob = OperationCounts;

export type Breakdown = Record<
  "workers" | "doRequests" | "sqlRowsRead" | "sqlRowsWritten" | "queue" | "d1RowsRead" | "d1RowsWritten",
  number
>;

/** What a million jobs cost at these operations per job, by item (duration and CPU are left out: see docs/cost.md). */
export function dollarsPerMillionJobs(ops: PerJob): { total: number; breakdown: Breakdown } {
  const breakdown: Breakdown = {
    workers: ops.workerInvocations * P.workerRequestPerMillion,
    doRequests: ops.doRequests * P.doRequestPerMillion,
    sqlRowsRead: ops.sqlRowsRead * P.sqlRowReadPerMillion,
    sqlRowsWritten: ops.sqlRowsWritten * P.sqlRowWrittenPerMillion,
    queue: ops.queueMessages * QUEUE_OPERATIONS_PER_MESSAGE * P.queueOperationPerMillion,
    d1RowsRead: ops.d1RowsRead * P.d1RowReadPerMillion,
    d1RowsWritten: ops.d1RowsWritten * P.d1RowWrittenPerMillion,
  };
  const total = Object.values(breakdown).reduce((a, b) => a + b, 0);
  return { total, breakdown };
}
