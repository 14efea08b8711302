// Results named by result_location go to the R2 results bucket, under the job's user's own root
// (src/core/result-location.ts); the job keeps a pointer to them.
import { resultKey } from "../core/result-location";
import type { DispatchMessage } from "../dispatch/message";

export async function storeResult(
  bucket: R2Bucket,
  location: string,
  msg: DispatchMessage,
  occurrence: number,
  result: unknown,
): Promise<{ location: string }> {
  const key = resultKey(msg.user_id, location, msg.job_id, occurrence, msg.attempt);
  await bucket.put(key, JSON.stringify(result), { httpMetadata: { contentType: "application/json" } });
  return { location: `r2://${key}` };
}
