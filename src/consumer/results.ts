// Results named by result_location go to the R2 results bucket; the job keeps a pointer to them.
import type { DispatchMessage } from "../dispatch/message";

export async function storeResult(
  bucket: R2Bucket,
  location: string,
  msg: DispatchMessage,
  occurrence: number,
  result: unknown,
): Promise<{ location: string }> {
  const key = resultKey(location, msg.job_id, occurrence, msg.attempt);
  await bucket.put(key, JSON.stringify(result), { httpMetadata: { contentType: "application/json" } });
  return { location: `r2://${key}` };
}

/**
 * Where an attempt's result goes: one object per attempt, so retention finds every object a job
 * wrote from its attempt rows (no listing) and deletes them with it.
 */
export function resultKey(location: string, jobId: string, occurrence: number, attempt: number): string {
  const prefix = location.replace(/^r2:\/\//, "").replace(/\/+$/, "");
  return `${prefix}/${jobId}/${occurrence}-${attempt}.json`;
}

/** The bucket key a stored result points to (`{"location": "r2://<key>"}`), or null for an inline one. */
export function storedResultKey(result: unknown): string | null {
  if (typeof result !== "object" || result === null || !("location" in result)) return null;
  const { location } = result;
  return typeof location === "string" && location.startsWith("r2://") ? location.slice("r2://".length) : null;
}
