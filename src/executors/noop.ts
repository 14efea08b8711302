// Does nothing, successfully: useful for exercising scheduling without touching the network.
import { z } from "zod";
import type { Executor } from "./types";

export const noopExecutor: Executor = {
  type: "noop",
  // The payload is ignored, but it is still stored and echoed, so it must at least be JSON.
  payloadSchema: z.json().optional(),
  execute: async () => ({ ok: true, result: null }),
};
