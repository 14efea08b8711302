// Workers projects: src/log.ts's event lines are captured, not printed (test/support/log-capture.ts
// says why and how to see them). LOG_LINES arrives as a binding (vitest.config.ts): workerd has no
// process.env.
import { env } from "cloudflare:workers";
import { afterEach, beforeEach } from "vitest";
import { installLogCapture, printCaptured, resetLogged, undeclaredErrors } from "../support/log-capture";

installLogCapture((env as unknown as { LOG_LINES?: string }).LOG_LINES);

beforeEach((ctx) => {
  resetLogged();
  ctx.onTestFailed(() => printCaptured(ctx.task.name));
});

afterEach(() => {
  const undeclared = undeclaredErrors();
  if (undeclared.length > 0) {
    throw new Error(
      `logged error-level events it did not declare (expectLogged or allowLogged):\n${undeclared
        .map((l) => l.line)
        .join("\n")}`,
    );
  }
});
