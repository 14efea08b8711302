// What the executors decide about a job at submit (or PATCH): whether its type exists, whether its
// payload is one that executor takes, whether a callback target may be called. The pure rules in
// src/core/job-rules.ts ask through this.
import { zodDetails } from "../core/error-detail";
import type { RuleChecks } from "../core/job-rules";
import { getExecutor } from "./registry";
import { targetError } from "./target";

export function executorChecks(allowPrivateTargets: boolean): RuleChecks {
  return {
    payloadErrors(type, payload) {
      const executor = getExecutor(type);
      if (!executor) return null;
      const parsed = executor.payloadSchema.safeParse(payload);
      if (!parsed.success) return zodDetails(parsed.error, ["payload"]);
      const refused = executor.submitError?.(parsed.data, { allowPrivateTargets });
      return refused ? [{ path: "payload", message: refused }] : [];
    },
    targetError: (url) => targetError(url, allowPrivateTargets),
  };
}
