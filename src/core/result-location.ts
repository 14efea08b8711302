// Where a job's results go when it names a `result_location` (`r2://<prefix>`): one object per
// attempt, so retention finds every object a job wrote from its attempt rows (no listing) and deletes
// it with the job; and the pointer the job keeps to it (`{"location": "r2://<key>"}`).
//
// Every result object lives under its user's own root, `results/<user id>/<prefix>/…`, whatever the
// prefix says, so no user writes into another's key space, nor into the archive's (`archive/…`,
// src/shard/archive.ts): the bucket's two roots are disjoint. A prefix names folders under that root;
// `..` segments are refused at submit (resultLocationError) and, in a location stored before that rule,
// dropped here like empty and `.` segments, so a key never climbs out of its root.

/** The results bucket's root of users' result objects; the archive's is `archive/`. */
export const RESULTS_ROOT = "results";

/** The folders a location names, without empty, `.` and `..` segments. */
function prefixSegments(location: string): string[] {
  return location
    .replace(/^r2:\/\//, "")
    .split("/")
    .filter((s) => s !== "" && s !== "." && s !== "..");
}

/** Why a result_location is refused beyond its shape, or null. */
export function resultLocationError(location: string): string | null {
  const segments = location.replace(/^r2:\/\//, "").split("/");
  return segments.includes("..") ? "must not contain `..` segments" : null;
}

/** The bucket key of one attempt's result: under the user's own root. */
export function resultKey(
  userId: string,
  location: string,
  jobId: string,
  occurrence: number,
  attempt: number,
): string {
  return [RESULTS_ROOT, userId, ...prefixSegments(location), jobId, `${occurrence}-${attempt}.json`].join(
    "/",
  );
}

/**
 * The key an attempt's result had before results were scoped to their user (a job written before
 * shard migration 0020: `<prefix>/<job id>/<occurrence>-<attempt>.json`). Retention removes it too for
 * such a job; a job id is unique, so the name can only be that job's own object.
 */
export function legacyResultKey(
  location: string,
  jobId: string,
  occurrence: number,
  attempt: number,
): string {
  const prefix = location.replace(/^r2:\/\//, "").replace(/\/+$/, "");
  return `${prefix}/${jobId}/${occurrence}-${attempt}.json`;
}

/**
 * The bucket key a stored result of job `jobId` points to, or null for an inline one. Only a key of
 * that job's own (`…/<job id>/<occurrence>-<attempt>.json`, as resultKey and legacyResultKey name
 * them) is read back.
 */
export function storedResultKey(result: unknown, jobId: string): string | null {
  if (typeof result !== "object" || result === null || !("location" in result)) return null;
  const { location } = result;
  if (typeof location !== "string" || !location.startsWith("r2://")) return null;
  const key = location.slice("r2://".length);
  const tail = key.split("/").slice(-2);
  return tail[0] === jobId && /^\d+-\d+\.json$/.test(tail[1] ?? "") ? key : null;
}
