// The dispatch queue bindings: DISPATCH is queue 0, DISPATCH_1.. the others (DISPATCH_QUEUES in use).
import type { Env } from "../env";

/** Queue `index`'s binding; a queue in use with no binding is a configuration error. */
export function dispatchQueue(env: Env, index: number): Queue<unknown> {
  const queue = [env.DISPATCH, env.DISPATCH_1, env.DISPATCH_2, env.DISPATCH_3][index];
  if (!queue)
    throw new Error(`dispatch queue ${index} has no binding (DISPATCH_QUEUES is larger than the bindings)`);
  return queue;
}
