// The dispatch queue bindings: DISPATCH is queue 0, DISPATCH_1.. the others (DISPATCH_QUEUES in use).
import type { Env } from "../env";

/**
 * Queue `index`'s binding: DISPATCH, then DISPATCH_1, DISPATCH_2, … by name, so adding one is a producer
 * and a consumer block in wrangler.toml and DISPATCH_QUEUES (docs/deploy.md). A queue in use with no
 * binding is a configuration error.
 */
export function dispatchQueue(env: Env, index: number): Queue<unknown> {
  const binding = index === 0 ? "DISPATCH" : `DISPATCH_${index}`;
  const queue = (env as unknown as Record<string, Queue<unknown> | undefined>)[binding];
  if (!queue)
    throw new Error(
      `dispatch queue ${index} has no binding (${binding}; DISPATCH_QUEUES is larger than the bindings)`,
    );
  return queue;
}
