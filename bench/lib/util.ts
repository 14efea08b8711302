// Small helpers shared by the benchmark scenarios: time, bounded concurrency, statistics, ports.
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import { setTimeout as sleepMs } from "node:timers/promises";

export const sleep = (ms: number) => sleepMs(Math.max(0, ms));

/** A wall-clock instant as the API writes it (RFC 3339, UTC, milliseconds). */
export const iso = (ms: number) => new Date(ms).toISOString();
export const ms = (isoTime: string | null | undefined): number | null =>
  isoTime ? Date.parse(isoTime) : null;

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Nearest-rank percentile (p in 0..100) of numbers; null for an empty list. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? null;
}

export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export interface Distribution {
  n: number;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

export function distribution(values: readonly number[]): Distribution {
  const round = (x: number | null) => (x === null ? null : Math.round(x));
  return {
    n: values.length,
    min: round(values.length ? Math.min(...values) : null),
    p50: round(percentile(values, 50)),
    p90: round(percentile(values, 90)),
    p99: round(percentile(values, 99)),
    max: round(values.length ? Math.max(...values) : null),
    mean: round(mean(values)),
  };
}

export const round = (x: number, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

async function portIsFree(port: number): Promise<boolean> {
  const probe = createServer();
  try {
    probe.listen(port, "127.0.0.1");
    await once(probe, "listening");
    const ok = (probe.address() as AddressInfo).port === port;
    probe.close();
    await once(probe, "close");
    return ok;
  } catch {
    return false;
  }
}

/** The first port at or above `from` that is free on 127.0.0.1 right now (and not in `skip`). */
export async function freePortFrom(from: number, skip: readonly number[] = []): Promise<number> {
  for (let port = from; port < from + 200; port++) {
    if (skip.includes(port)) continue;
    if (await portIsFree(port)) return port;
  }
  throw new Error(`no free port in ${from}..${from + 199}`);
}

/** A logger that prefixes seconds since the benchmark started, on stderr (stdout carries the JSON). */
export function makeLog(start: number) {
  return (msg: string) => process.stderr.write(`[${((Date.now() - start) / 1000).toFixed(1)}s] ${msg}\n`);
}
export type Log = ReturnType<typeof makeLog>;

export const median = (values: readonly number[]) => percentile(values, 50);
