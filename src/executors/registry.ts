// Every job type the scheduler knows. Adding an executor = one new file + one line in this list.
import { httpExecutor } from "./http";
import { noopExecutor } from "./noop";
import type { Executor } from "./types";

const all: Executor[] = [httpExecutor, noopExecutor];

export const executors: ReadonlyMap<string, Executor> = new Map(all.map((e) => [e.type, e]));

export function getExecutor(type: string): Executor | undefined {
  return executors.get(type);
}
