// What a V8 CPU profile of the worker isolate says, as figures: how much of the window the isolate was
// busy (sampled time that was not idle), per job, and where that time went by area (drizzle-orm, zod,
// hono, each folder of src/, console/log, the runtime's own code, native calls) and by function. Pure:
// the profile, the window and a way to locate a frame in the sources in; the summary out.
//
// How samples become time. V8 records a sample (the stack at that moment) about every sampling
// interval, but only while the isolate is locked on its thread: workerd runs every isolate of a
// `wrangler dev` (the Worker, Miniflare's queue broker and D1, …) on one thread, and a sample taken
// while another one holds it (or while the thread waits for I/O) is dropped. So a sample stands for the
// time to the next one, but at most `gapCapUs`: by default 2 × the median interval between samples (the
// interval V8 achieved, which on a busy machine is longer than the one asked for), which keeps the
// sampler's jitter and cuts the gaps where samples were dropped: time the isolate did not hold the
// thread, counted as unsampled, not as busy. The DevTools convention (each sample lasts until the
// next, however long) is reported beside it as an upper bound; the workerd thread's CPU time from /proc
// (run.ts) is the other check, and bounds the isolate's busy time from above.
export interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  /** 0-based, as V8 reports it; -1 when unknown. */
  lineNumber: number;
  columnNumber: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}

/** A `.cpuprofile`: what `Profiler.stop` returns (times in µs of V8's monotonic clock). */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a frame's function is in the sources: `src/shard/sql/claim.ts`, `node_modules/zod/…`, a URL. */
export interface Location {
  file: string;
  /** 1-based. */
  line: number;
  /**
   * The module of the bundle the code is in, when the file alone does not say (a package whose own
   * source map names files outside it): what the area is decided by.
   */
  module?: string;
}

export type Locate = (frame: CallFrame) => Location | null;

/** Without a source map: the frame's own URL and line (1-based). */
export const rawLocation: Locate = (frame) =>
  frame.url ? { file: frame.url, line: frame.lineNumber + 1 } : null;

export const IDLE = "(idle)";
export const PROGRAM = "(program)";
export const GC = "(garbage collector)";
export const CONSOLE = "console/log";
export const RUNTIME = "workerd/miniflare/wrangler JS";
export const NATIVE = "native (V8 builtins, workerd APIs)";
export const OTHER_PACKAGES = "other packages";
export const OTHER = "other";

/** Console methods: a native frame with one of these names is a console call (workerd's own). */
const CONSOLE_METHODS = new Set(["log", "info", "warn", "error", "debug", "trace"]);

/** URL prefixes of code the runtime brings: workerd's modules, Node compatibility, Miniflare's wrappers. */
const RUNTIME_URLS = ["workerd:", "cloudflare-internal:", "cloudflare:", "node-internal:", "node:", "__mf_"];

/** The package a path in node_modules belongs to (`zod`, `@hono/swagger-ui`), or null. */
export function packageOf(file: string): string | null {
  const at = file.lastIndexOf("node_modules/");
  if (at < 0) return null;
  const parts = file.slice(at + "node_modules/".length).split("/");
  const first = parts[0] ?? "";
  if (first.startsWith("@")) return parts[1] ? `${first}/${parts[1]}` : null;
  return first || null;
}

/**
 * The area a frame's self time counts under: the V8 states `(idle)`, `(program)` (in the isolate, no
 * JavaScript on the stack: workerd's C++ between calls) and `(garbage collector)`; drizzle-orm, zod,
 * hono; our own code by folder (`src/shard/sql`, `src/consumer`, … and `src` for its top-level files);
 * console/log (src/log.ts, console's native methods, the inspect module that formats their arguments,
 * and any native function src/log.ts calls: console.log itself is an anonymous native); the runtime's
 * JavaScript (workerd, Miniflare and wrangler's wrappers); native functions without a script (V8
 * builtins such as JSON.stringify, and workerd's APIs such as SQLite's exec, which count the C++ work
 * they do); other packages; other. `callerArea` is the area of the frame that called this one.
 */
export function areaOf(frame: CallFrame, location: Location | null, callerArea?: string): string {
  const name = frame.functionName;
  if (name === IDLE || name === PROGRAM || name === GC) return name;
  if (name === "(root)") return OTHER;
  if (!frame.url) return CONSOLE_METHODS.has(name) || callerArea === CONSOLE ? CONSOLE : NATIVE;
  if (frame.url === "node-internal:internal_inspect") return CONSOLE;
  if (RUNTIME_URLS.some((prefix) => frame.url.startsWith(prefix))) return RUNTIME;
  const file = location?.module ?? location?.file ?? frame.url;
  const pkg = packageOf(file);
  if (pkg !== null) {
    if (pkg === "drizzle-orm" || pkg === "zod") return pkg;
    if (pkg === "hono" || pkg.startsWith("@hono/")) return "hono";
    if (pkg === "wrangler" || pkg === "miniflare" || pkg.startsWith("@cloudflare/")) return RUNTIME;
    return OTHER_PACKAGES;
  }
  if (file === "src/log.ts") return CONSOLE;
  if (file.startsWith("src/")) return file.slice(0, file.lastIndexOf("/"));
  if (file.startsWith(".wrangler/") || file.startsWith("wrangler-") || /\/(miniflare|wrangler)\//.test(file))
    return RUNTIME;
  return OTHER;
}

export interface SummaryOptions {
  /** The part of the profile to sum (µs on the profile's clock); the whole profile by default. */
  window?: { fromUs: number; toUs: number };
  /** Jobs fired in the window: the per-job figures divide by it. */
  jobs: number;
  locate?: Locate;
  /** The longest time one sample stands for (µs); 2 × the median interval by default. */
  gapCapUs?: number;
  /** How many functions to list by self time (25). */
  top?: number;
}

export interface AreaTime {
  area: string;
  ms: number;
  /** Of the busy time. */
  pct: number;
}

export interface FunctionTime {
  function: string;
  /** `src/shard/sql/claim.ts:42`, `node_modules/zod/v4/core/schemas.js:1200`, or a URL and line. */
  location: string;
  area: string;
  self_ms: number;
  pct: number;
}

export interface ProfileSummary {
  window_ms: number;
  samples: number;
  /** The median time between consecutive samples (µs): the sampling interval as it happened. */
  median_interval_us: number;
  gap_cap_us: number;
  /** Time the samples stand for; the rest of the window the isolate did not hold its thread. */
  sampled_ms: number;
  unsampled_ms: number;
  idle_ms: number;
  program_ms: number;
  gc_ms: number;
  /** Self time of JavaScript and native functions. */
  functions_ms: number;
  /** Not idle: program + GC + functions. */
  busy_ms: number;
  /** Busy time over the window: how much of one core the isolate used. */
  busy_share_of_window: number;
  jobs: number;
  /** THE figure issue 16 targets (≤ 2 ms): busy sampled ms in the window per job fired. */
  busy_ms_per_job: number;
  /** The same with each sample lasting until the next however long (DevTools' convention): an upper bound. */
  busy_ms_per_job_uncapped: number;
  areas: AreaTime[];
  top: FunctionTime[];
}

const round = (x: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

function medianOf(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

/** What a node's self time counts under, and how the table names it. */
interface Placed {
  area: string;
  /** Function and location: the same function under several call paths sums as one. */
  key: string;
  fn: string;
  location: string;
}

/** Places every node: its area (a native one's depends on its caller's), name and location. */
function placeNodes(profile: CpuProfile, locate: Locate): Map<number, Placed> {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const placed = new Map<number, Placed>();
  const place = (id: number): Placed | undefined => {
    const known = placed.get(id);
    if (known) return known;
    const node = nodes.get(id);
    if (!node) return undefined;
    const frame = node.callFrame;
    const callerId = parent.get(id);
    // Only a native frame's area depends on its caller: walk up only for those.
    const caller = !frame.url && callerId !== undefined ? place(callerId) : undefined;
    const loc = frame.url ? locate(frame) : null;
    const area = areaOf(frame, loc, caller?.area);
    const location = loc ? `${loc.file}:${loc.line}` : frame.url || "(native)";
    const fn =
      frame.functionName || (!frame.url && caller ? `(native, called by ${caller.fn})` : "(anonymous)");
    const out = { area, key: `${fn}\u0000${location}`, fn, location };
    placed.set(id, out);
    return out;
  };
  for (const n of profile.nodes) place(n.id);
  return placed;
}

/** Sums `profile` over the window into the figures above. */
export function summarizeProfile(profile: CpuProfile, opts: SummaryOptions): ProfileSummary {
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const fromUs = opts.window?.fromUs ?? profile.startTime;
  const toUs = opts.window?.toUs ?? profile.endTime;
  const placed = placeNodes(profile, opts.locate ?? rawLocation);

  // Each sample's time and how long until the next one (the last one lasts until the profile ends).
  const times: number[] = [];
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    times.push(t);
  }
  const spans = times.map((at, i) => Math.max(0, (times[i + 1] ?? profile.endTime) - at));
  const inWindow = times.map((at) => at >= fromUs && at < toUs);
  const median = medianOf(spans.filter((span, i) => inWindow[i] && span > 0));
  const cap = opts.gapCapUs ?? 2 * median;

  let sampled = 0;
  let uncappedBusy = 0;
  let count = 0;
  const byState = { idle: 0, program: 0, gc: 0 };
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, { placed: Placed; us: number }>();
  for (let i = 0; i < samples.length; i++) {
    const where = inWindow[i] ? placed.get(samples[i] ?? -1) : undefined;
    if (!where) continue;
    count++;
    const span = spans[i] ?? 0;
    const us = Math.min(span, cap);
    sampled += us;
    if (where.area === IDLE) {
      byState.idle += us;
      continue;
    }
    uncappedBusy += span;
    if (where.area === PROGRAM) byState.program += us;
    if (where.area === GC) byState.gc += us;
    byArea.set(where.area, (byArea.get(where.area) ?? 0) + us);
    const fn = byFunction.get(where.key) ?? { placed: where, us: 0 };
    fn.us += us;
    byFunction.set(where.key, fn);
  }
  const busy = sampled - byState.idle;
  const ms = (us: number) => round(us / 1000, 1);
  const pct = (us: number) => (busy > 0 ? round((100 * us) / busy, 1) : 0);
  const windowUs = Math.max(0, toUs - fromUs);
  const perJob = (us: number) => (opts.jobs > 0 ? round(us / 1000 / opts.jobs, 3) : 0);
  return {
    window_ms: ms(windowUs),
    samples: count,
    median_interval_us: Math.round(median),
    gap_cap_us: Math.round(cap),
    sampled_ms: ms(sampled),
    unsampled_ms: ms(Math.max(0, windowUs - sampled)),
    idle_ms: ms(byState.idle),
    program_ms: ms(byState.program),
    gc_ms: ms(byState.gc),
    functions_ms: ms(busy - byState.program - byState.gc),
    busy_ms: ms(busy),
    busy_share_of_window: windowUs > 0 ? round(busy / windowUs, 3) : 0,
    jobs: opts.jobs,
    busy_ms_per_job: perJob(busy),
    busy_ms_per_job_uncapped: perJob(uncappedBusy),
    areas: [...byArea].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, ms: ms(us), pct: pct(us) })),
    top: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, opts.top ?? 25)
      .map(({ placed: p, us }) => ({
        function: p.fn,
        location: p.location,
        area: p.area,
        self_ms: ms(us),
        pct: pct(us),
      })),
  };
}
