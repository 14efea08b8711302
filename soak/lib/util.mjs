// Small helpers for the soak: time, a seeded random source, bounded concurrency, statistics, ports.
import { once } from "node:events";
import { createServer } from "node:net";
import { setTimeout as sleepPromise } from "node:timers/promises";

export const sleep = (ms) => sleepPromise(Math.max(0, ms));
export const iso = (ms) => new Date(ms).toISOString();
export const ms = (isoTime) => (isoTime ? Date.parse(isoTime) : null);

/** mulberry32: a tiny seeded PRNG, so a run's workload and kill points can be reproduced. */
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Nearest-rank percentile (p in 0..100); null for an empty list. `sorted` must be ascending. */
function rank(sorted, p) {
  if (sorted.length === 0) return null;
  const r = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[r - 1];
}

/** n, p50, p90, p99, max (ms, rounded) of a list of numbers. */
export function distribution(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const r = (x) => (x === null || x === undefined ? null : Math.round(x));
  return {
    n: sorted.length,
    p50: r(rank(sorted, 50)),
    p90: r(rank(sorted, 90)),
    p99: r(rank(sorted, 99)),
    max: r(sorted.length ? sorted[sorted.length - 1] : null),
  };
}

async function portIsFree(port) {
  const probe = createServer();
  try {
    probe.listen(port, "127.0.0.1");
    await once(probe, "listening");
    probe.close();
    await once(probe, "close");
    return true;
  } catch {
    return false;
  }
}

/** The first port at or above `from` free on 127.0.0.1 right now, skipping `skip`. */
export async function freePortFrom(from, skip = []) {
  for (let port = from; port < from + 100; port++) {
    if (skip.includes(port)) continue;
    if (await portIsFree(port)) return port;
  }
  throw new Error(`no free port in ${from}..${from + 99}`);
}

/** Progress lines on stderr, prefixed with seconds since the run started. */
export function makeLog(start) {
  return (msg) => process.stderr.write(`[${((Date.now() - start) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
}
