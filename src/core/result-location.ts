// Where a job's results go when it names a `result_location` (`r2://<prefix>`): one object per
// attempt, so retention finds every object a job wrote from its attempt rows (no listing) and deletes
// it with the job; and the pointer the job keeps to it (`{"location": "r2://<key>"}`).

/** The bucket key of one attempt's result. */
export function resultKey(location: string, jobId: string, occurrence: number, attempt: number): string {
  const prefix = location.replace(/^r2:\/\//, "").replace(/\/+$/, "");
  return `${prefix}/${jobId}/${occurrence}-${attempt}.json`;
}

/** The bucket key a stored result points to, or null for an inline one. */
export function storedResultKey(result: unknown): string | null {
  if (typeof result !== "object" || result === null || !("location" in result)) return null;
  const { location } = result;
  return typeof location === "string" && location.startsWith("r2://") ? location.slice("r2://".length) : null;
}
