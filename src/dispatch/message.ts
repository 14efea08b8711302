// The dispatch queue's message: just enough to find the job and fence the attempt. Everything else
// is read from the shard at begin, so a message can never carry a stale copy of the job.
import { z } from "zod";

export const DispatchMessageSchema = z.strictObject({
  user_id: z.string().min(1).max(64),
  job_id: z.string().min(1).max(64),
  attempt: z.int().positive(),
});

export type DispatchMessage = z.infer<typeof DispatchMessageSchema>;
