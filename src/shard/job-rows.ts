// Reading job rows without drizzle's per-row machinery (issue 16: findJob's mapping was the largest
// drizzle cost left in a herd, ~35 µs a call): the jobs table's columns are listed once, and a raw
// row from the storage's `exec` becomes a JobRow with each column's own decoder (JSON text parsed,
// booleans from 0/1), exactly as drizzle's select maps it. test/integration/job-rows.test.ts holds the
// two equal for every column.
//
// jobRowOf(raw) → JobRow (no SQL). JOB_COLUMNS: the `select` list, in the schema's order.
import { getTableColumns } from "drizzle-orm";
import { type JobRow, jobs } from "./schema";

const COLUMNS = Object.entries(getTableColumns(jobs)).map(([field, column]) => ({ field, column }));

/** Every column of jobs, quoted, for `select ${JOB_COLUMNS} from jobs …`. */
export const JOB_COLUMNS = COLUMNS.map(({ column }) => `"${column.name}"`).join(", ");

/** A raw row of `select ${JOB_COLUMNS} from jobs`, decoded as drizzle decodes it. */
export function jobRowOf(raw: Record<string, unknown>): JobRow {
  const row: Record<string, unknown> = {};
  for (const { field, column } of COLUMNS) {
    const value = raw[column.name];
    row[field] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as JobRow;
}
