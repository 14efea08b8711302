// The audit archive of removed jobs (ARCHIVE_FINISHED=true): before retention removes a batch of
// finished jobs, the shard writes them to the results bucket as JSON lines, one object per removal
// batch under the hour it ran in. R2 has no append, so "one object per shard per hour" is a prefix:
// `archive/<user>/<shard>/<YYYY-MM-DDTHH>/<first job id>.jsonl`. The key is a function of the batch,
// so a removal interrupted after its archive and run again writes the same object again (at least
// once, never lost) when the batch is the same, and another object when it is not.
import type { JobView } from "../core/job";

export function archiveKey(userId: string, shard: number, firstJobId: string, now: number): string {
  const hour = new Date(now).toISOString().slice(0, 13);
  return `archive/${userId}/${shard}/${hour}/${firstJobId}.jsonl`;
}

export async function archiveJobs(bucket: R2Bucket, key: string, views: JobView[]): Promise<void> {
  const lines = `${views.map((v) => JSON.stringify(v)).join("\n")}\n`;
  await bucket.put(key, lines, { httpMetadata: { contentType: "application/x-ndjson" } });
}
