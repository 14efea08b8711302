// Wraps a Durable Object class's request methods so each call counts one Durable Object request and
// the SQLite rows it read and wrote, under a named phase. Applied once to the prototype, which is
// where RPC calls and the alarm look methods up.
import { type Phase, recordOperations } from "./operations";
import type { SqlMeter } from "./sql-meter";

type Metered = { sqlMeter: SqlMeter };
// biome-ignore lint/suspicious/noExplicitAny: any method signature is wrapped as it is.
type AnyMethod = (...args: any[]) => Promise<unknown>;
type RequestMethods<T> = {
  [K in keyof T as [T[K]] extends [never] ? never : T[K] extends AnyMethod ? K : never]: T[K];
};

export function meterMethods<T extends Metered>(
  cls: { prototype: T },
  // A phase, or a function of the object read once the call is over (the alarm serves several).
  phases: { [K in keyof RequestMethods<T>]: Phase | ((self: T) => Phase) },
): void {
  const proto = cls.prototype as unknown as Record<string, AnyMethod>;
  for (const [name, phase] of Object.entries(phases) as [string, Phase | ((self: T) => Phase)][]) {
    const original = proto[name];
    if (!original) throw new Error(`meterMethods: no method ${name}`);
    proto[name] = async function (this: T, ...args: unknown[]) {
      try {
        return await original.apply(this, args);
      } finally {
        const billed = typeof phase === "function" ? phase(this) : phase;
        recordOperations(billed, { doRequests: 1, ...this.sqlMeter.take() });
      }
    };
  }
}
