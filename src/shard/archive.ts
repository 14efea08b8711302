// The audit archive of removed jobs (ARCHIVE_FINISHED=true): before retention removes a batch of
// finished jobs, the shard writes them to the results bucket as JSON lines, one object per removal
// batch under the hour it ran in. R2 has no append, so "one object per shard per hour" is a prefix:
// `archive/<user>/<shard>/<YYYY-MM-DDTHH>/<first job id>-<digest>.jsonl`, the digest a SHA-256 of the
// object's own lines (128 bits of it). So an object is only ever overwritten by the same bytes: a
// removal interrupted after its archive and run again rewrites its object (at least once, never
// lost), and any other batch (another job first, the same first job at another version, other jobs
// behind it) gets an object of its own.
import type { JobView } from "../core/job";

/** Where a batch's lines go: a function of the lines themselves, so distinct batches never share it. */
export async function archiveKey(
  userId: string,
  shard: number,
  firstJobId: string,
  now: number,
  lines: string,
): Promise<string> {
  const hour = new Date(now).toISOString().slice(0, 13);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(lines)));
  const hex = [...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `archive/${userId}/${shard}/${hour}/${firstJobId}-${hex}.jsonl`;
}

/** Writes the removed jobs as JSON lines; returns the object's key. */
export async function archiveJobs(
  bucket: R2Bucket,
  where: { userId: string; shard: number; now: number },
  views: JobView[],
): Promise<string> {
  const [first] = views;
  if (!first) throw new Error("archiveJobs: an empty batch");
  const lines = `${views.map((v) => JSON.stringify(v)).join("\n")}\n`;
  const key = await archiveKey(where.userId, where.shard, first.id, where.now, lines);
  await bucket.put(key, lines, { httpMetadata: { contentType: "application/x-ndjson" } });
  return key;
}
