// Shard RPCs as the Worker makes them, recorded by name, for tests that count or break them.
import type { Env } from "../../src/env";
import { env } from "./helpers";

/**
 * The Worker's env with every shard RPC recorded as "<shard name> <method>"; a call `unreachable`
 * names fails as if the object could not be reached.
 */
export function recordingShardRpcs(unreachable = (_call: string) => false): {
  bindings: Env;
  calls: string[];
} {
  const calls: string[] = [];
  const namespace = env.TASK_SHARD;
  const names = new Map<string, string>();
  const recording = {
    idFromName(name: string) {
      const id = namespace.idFromName(name);
      names.set(id.toString(), name);
      return id;
    },
    get(id: DurableObjectId) {
      const stub = namespace.get(id);
      const name = names.get(id.toString()) ?? id.toString();
      return new Proxy(stub, {
        get(target, method) {
          const value = Reflect.get(target, method);
          if (typeof method !== "string" || typeof value !== "function") return value;
          return (...args: unknown[]) => {
            const call = `${name} ${method}`;
            calls.push(call);
            if (unreachable(call)) return Promise.reject(new Error(`injected: ${call} unreachable`));
            // Called on the stub itself: an RPC method's own `apply` would be taken for a remote name.
            return (target as unknown as Record<string, (...a: unknown[]) => unknown>)[method]?.(...args);
          };
        },
      });
    },
  };
  return { bindings: { ...env, TASK_SHARD: recording as unknown as Env["TASK_SHARD"] }, calls };
}
