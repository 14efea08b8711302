// One problem with a request, named by the path of the field it concerns (`jobs[3].payload.url`), as
// every 400 lists them; and zod's issues as such problems.
import type { z } from "zod";

export interface ErrorDetail {
  path: string;
  message: string;
}

/**
 * zod's issues, one detail each. A record's refused key (`invalid_key`) is named by its path (the
 * key's own) with its key rule's message ("label keys are at most 64 characters"), not zod's generic
 * "Invalid key in record".
 */
export function zodDetails(error: z.ZodError, prefix: (string | number)[] = []): ErrorDetail[] {
  return error.issues.map((i) => ({
    path: [...prefix, ...i.path].map(String).join(".") || "(body)",
    message: (i.code === "invalid_key" ? i.issues[0]?.message : undefined) ?? i.message,
  }));
}
