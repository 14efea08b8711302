// One problem with a request, named by the path of the field it concerns (`jobs[3].payload.url`), as
// every 400 lists them; and zod's issues as such problems.
import type { z } from "zod";

export interface ErrorDetail {
  path: string;
  message: string;
}

export function zodDetails(error: z.ZodError, prefix: (string | number)[] = []): ErrorDetail[] {
  return error.issues.map((i) => ({
    path: [...prefix, ...i.path].map(String).join(".") || "(body)",
    message: i.message,
  }));
}
