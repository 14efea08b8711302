// Small helpers the harnesses share: time, bounded polling and concurrency, ports, progress lines.
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import { setTimeout as sleepMs } from "node:timers/promises";

/** Sleeps `ms` (a negative wait is no wait). */
export const sleep = (ms: number) => sleepMs(Math.max(0, ms));

/** A wall-clock instant as the API writes it (RFC 3339, UTC, milliseconds). */
export const iso = (ms: number) => new Date(ms).toISOString();
/** The API's RFC 3339 instant as epoch milliseconds; null for a missing one. */
export const ms = (isoTime: string | null | undefined): number | null =>
  isoTime ? Date.parse(isoTime) : null;

/**
 * Polls `probe` every `intervalMs` until `done` accepts its value, or fails at the deadline with the
 * last value (or error) seen, so a timeout says what the system was doing instead.
 */
export async function poll<T>(
  what: string,
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 30_000, intervalMs = 200 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = "nothing yet";
  for (;;) {
    try {
      const value = await probe();
      if (done(value)) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const seen = last instanceof Error ? String(last) : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
    }
    await sleep(intervalMs);
  }
}

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
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Listens on `port` (0: any) on 127.0.0.1 and closes again; the port it got, or null if refused. */
async function probePort(port: number): Promise<number | null> {
  const probe = createServer();
  try {
    probe.listen(port, "127.0.0.1");
    await once(probe, "listening");
    const got = (probe.address() as AddressInfo).port;
    probe.close();
    await once(probe, "close");
    return got;
  } catch {
    return null;
  }
}

/** A port free right now on 127.0.0.1 (the OS picks it; nothing holds it afterwards). */
export async function freePort(): Promise<number> {
  const port = await probePort(0);
  if (port === null) throw new Error("no free port on 127.0.0.1");
  return port;
}

/** The first port at or above `from` that is free on 127.0.0.1 right now (and not in `skip`). */
export async function freePortFrom(from: number, skip: readonly number[] = []): Promise<number> {
  for (let port = from; port < from + 200; port++) {
    if (skip.includes(port)) continue;
    if ((await probePort(port)) === port) return port;
  }
  throw new Error(`no free port in ${from}..${from + 199}`);
}

/** Progress lines on stderr (stdout carries a run's JSON), prefixed with seconds since `start`. */
export function makeLog(start: number) {
  return (msg: string) =>
    process.stderr.write(`[${((Date.now() - start) / 1000).toFixed(1).padStart(6)}s] ${msg}\n`);
}
export type Log = ReturnType<typeof makeLog>;

/** Awaits `promise` for at most `ms`: its value, or undefined when the time ran out first. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The list under `key` in `map`, created empty if there is none yet. */
export function listIn<K, V>(map: Map<K, V[]>, key: K): V[] {
  let list = map.get(key);
  if (!list) {
    list = [];
    map.set(key, list);
  }
  return list;
}
