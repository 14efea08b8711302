// One problem with a request, named by the path of the field it concerns (`jobs[3].payload.url`), as
// every 400 lists them; and zod's issues as such problems.
import type { z } from "zod";

export interface ErrorDetail {
  path: string;
  message: string;
}

/** A field's path as every detail names it: names joined by dots, array positions in brackets. */
export function detailPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((s, i) => (typeof s === "number" ? `[${s}]` : `${i === 0 ? "" : "."}${String(s)}`))
    .join("");
}

/**
 * zod's issues, one detail each. A record's refused key (`invalid_key`) is named by its path (the
 * key's own) with its key rule's message ("label keys are at most 64 characters"), not zod's generic
 * "Invalid key in record".
 */
export function zodDetails(error: z.ZodError, prefix: (string | number)[] = []): ErrorDetail[] {
  return error.issues.map((i) => ({
    path: detailPath([...prefix, ...i.path]) || "(body)",
    message: (i.code === "invalid_key" ? i.issues[0]?.message : undefined) ?? i.message,
  }));
}
