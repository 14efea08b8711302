// summarizeProfile turns a V8 CPU profile of the Worker's isolate into issue 16's figure (busy sampled
// ms per job in the herd's window) and the time by area and by function; areaOf decides the areas.
import { describe, expect, it } from "vitest";
import {
  areaOf,
  type CallFrame,
  CONSOLE,
  type CpuProfile,
  GC,
  IDLE,
  type Locate,
  NATIVE,
  OTHER,
  OTHER_PACKAGES,
  PROGRAM,
  packageOf,
  RUNTIME,
  summarizeProfile,
} from "../../../../tools/bench/profile/summary";

const frame = (functionName: string, url = "", lineNumber = -1, scriptId = url ? "10" : "0"): CallFrame => ({
  functionName,
  scriptId,
  url,
  lineNumber,
  columnNumber: 0,
});

// The bundle's lines stand for these files (what a source map would say).
const files: Record<number, string> = {
  100: "src/shard/sql/claim.ts",
  200: "src/log.ts",
  300: "node_modules/drizzle-orm/src/sql/sql.ts",
  400: "src/consumer/consumer.ts",
};
const locate: Locate = (f) =>
  f.url === "index.js" ? { file: files[f.lineNumber] ?? "index.js", line: f.lineNumber + 1 } : null;

/**
 * (root) → claim (src/shard/sql) → exec (native); (root) → log (src/log.ts) → an anonymous native
 * (console.log); (root) → sql (drizzle-orm); (root) → consume (src/consumer); and the V8 states.
 */
function profile(samples: number[], deltas: number[], endTime?: number): CpuProfile {
  const startTime = 1_000_000;
  return {
    startTime,
    endTime: endTime ?? startTime + deltas.reduce((a, b) => a + b, 0) + 100,
    samples,
    timeDeltas: deltas,
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2, 4, 6, 7, 8, 9, 10] },
      { id: 2, callFrame: frame("claimDue", "index.js", 100), children: [3] },
      { id: 3, callFrame: frame("exec") },
      { id: 4, callFrame: frame("log", "index.js", 200), children: [5] },
      { id: 5, callFrame: frame("") },
      { id: 6, callFrame: frame(IDLE) },
      { id: 7, callFrame: frame(PROGRAM) },
      { id: 8, callFrame: frame(GC) },
      { id: 9, callFrame: frame("sql", "index.js", 300) },
      { id: 10, callFrame: frame("consume", "index.js", 400) },
    ],
  };
}

describe("summarizeProfile", () => {
  // Ten samples 100 µs apart: claim, exec ×2, console.log, idle ×2, program, GC, drizzle, consumer.
  const even = profile([2, 3, 3, 5, 6, 6, 7, 8, 9, 10], Array(10).fill(100), 1_000_000 + 1_100);

  it("sums busy time (not idle) and divides it by the jobs", () => {
    const s = summarizeProfile(even, { jobs: 4, locate });
    expect(s.samples).toBe(10);
    expect(s.median_interval_us).toBe(100);
    expect(s.sampled_ms).toBe(1);
    expect(s.idle_ms).toBe(0.2);
    expect(s.program_ms).toBe(0.1);
    expect(s.gc_ms).toBe(0.1);
    expect(s.functions_ms).toBe(0.6);
    expect(s.busy_ms).toBe(0.8);
    expect(s.busy_ms_per_job).toBe(0.2);
    // The whole profile is the window by default: 1.1 ms, of which 0.1 before the first sample.
    expect(s.window_ms).toBe(1.1);
    expect(s.unsampled_ms).toBe(0.1);
    expect(s.busy_share_of_window).toBeCloseTo(0.8 / 1.1, 3);
  });

  it("groups self time by area: SQLite's exec is native, console.log's native is console/log", () => {
    const s = summarizeProfile(even, { jobs: 4, locate });
    const area = Object.fromEntries(s.areas.map((a) => [a.area, a.ms]));
    expect(area).toEqual({
      [NATIVE]: 0.2,
      "src/shard/sql": 0.1,
      [CONSOLE]: 0.1,
      [PROGRAM]: 0.1,
      [GC]: 0.1,
      "drizzle-orm": 0.1,
      "src/consumer": 0.1,
    });
    expect(s.areas[0]).toEqual({ area: NATIVE, ms: 0.2, pct: 25 });
    expect(s.areas.reduce((sum, a) => sum + a.pct, 0)).toBeCloseTo(100, 5);
  });

  it("lists functions by self time with their source location", () => {
    const s = summarizeProfile(even, { jobs: 4, locate, top: 3 });
    expect(s.top).toHaveLength(3);
    expect(s.top[0]).toEqual({ function: "exec", location: "(native)", area: NATIVE, self_ms: 0.2, pct: 25 });
    const all = summarizeProfile(even, { jobs: 4, locate }).top;
    expect(all.find((f) => f.area === CONSOLE)).toMatchObject({
      function: "(native, called by log)",
      location: "(native)",
    });
    expect(all.find((f) => f.function === "claimDue")?.location).toBe("src/shard/sql/claim.ts:101");
    expect(all.find((f) => f.function === "sql")?.location).toBe(
      "node_modules/drizzle-orm/src/sql/sql.ts:301",
    );
    // Without a source map a frame keeps its script's URL and line.
    expect(summarizeProfile(even, { jobs: 4 }).top.find((f) => f.function === "claimDue")?.location).toBe(
      "index.js:101",
    );
  });

  it("counts a long gap between samples only up to the cap, and all of it in the upper bound", () => {
    // claim, then 5 ms without a sample (the isolate off its thread), then three more samples.
    const gappy = profile([2, 10, 10, 10], [100, 5_000, 100, 100], 1_000_000 + 5_400);
    const s = summarizeProfile(gappy, { jobs: 1, locate });
    // Spans: 5,000, 100, 100, 100; median 100 → cap 200: 200 + 100 × 3.
    expect(s.median_interval_us).toBe(100);
    expect(s.gap_cap_us).toBe(200);
    expect(s.busy_ms).toBe(0.5);
    expect(s.unsampled_ms).toBe(4.9);
    expect(s.busy_ms_per_job_uncapped).toBe(5.3);
    expect(summarizeProfile(gappy, { jobs: 1, locate, gapCapUs: 10_000 }).busy_ms).toBe(5.3);
  });

  it("sums only the samples in the window", () => {
    // Sample times: 1,000,100 … 1,001,000 (every 100 µs); the window takes the 3rd to the 6th.
    const s = summarizeProfile(even, {
      jobs: 2,
      locate,
      window: { fromUs: 1_000_300, toUs: 1_000_700 },
    });
    expect(s.samples).toBe(4);
    expect(s.window_ms).toBe(0.4);
    // exec, console.log, idle, idle.
    expect(s.idle_ms).toBe(0.2);
    expect(s.busy_ms).toBe(0.2);
    expect(s.busy_ms_per_job).toBe(0.1);
    expect(s.areas.map((a) => a.area).sort()).toEqual([CONSOLE, NATIVE].sort());
  });

  it("is all zeros for an empty profile or window, never NaN", () => {
    const s = summarizeProfile(profile([], []), { jobs: 0 });
    expect(s.busy_ms).toBe(0);
    expect(s.busy_ms_per_job).toBe(0);
    expect(s.areas).toEqual([]);
    const w = summarizeProfile(even, { jobs: 3, window: { fromUs: 0, toUs: 10 } });
    expect(w.samples).toBe(0);
    expect(w.busy_ms_per_job).toBe(0);
  });
});

describe("areaOf", () => {
  const at = (file: string, module?: string) => ({ file, line: 1, ...(module ? { module } : {}) });
  const js = frame("f", "index.js", 1);

  it("names the packages issue 16 asks about, and the rest as other packages", () => {
    expect(areaOf(js, at("node_modules/drizzle-orm/sqlite-core/dialect.js"))).toBe("drizzle-orm");
    expect(areaOf(js, at("node_modules/zod/v4/core/schemas.js"))).toBe("zod");
    expect(areaOf(js, at("node_modules/hono/dist/hono-base.js"))).toBe("hono");
    expect(areaOf(js, at("node_modules/@hono/swagger-ui/dist/index.js"))).toBe("hono");
    expect(areaOf(js, at("node_modules/croner/dist/croner.js"))).toBe(OTHER_PACKAGES);
    // The module decides when the map names a file outside the package.
    expect(areaOf(js, at("node_modules/src/sql/sql.ts", "node_modules/drizzle-orm/sql/sql.js"))).toBe(
      "drizzle-orm",
    );
  });

  it("names our code by folder, src/log.ts as console/log", () => {
    expect(areaOf(js, at("src/shard/sql/claim.ts"))).toBe("src/shard/sql");
    expect(areaOf(js, at("src/shard/tick.ts"))).toBe("src/shard");
    expect(areaOf(js, at("src/index.ts"))).toBe("src");
    expect(areaOf(js, at("src/log.ts"))).toBe(CONSOLE);
  });

  it("names the runtime's code, natives, console methods and the V8 states", () => {
    expect(areaOf(frame("x", "cloudflare-internal:d1-api"), null)).toBe(RUNTIME);
    expect(areaOf(frame("x", "node-internal:internal_timers"), null)).toBe(RUNTIME);
    expect(areaOf(frame("x", "__mf_do_wrapper.js"), null)).toBe(RUNTIME);
    expect(areaOf(js, at("node_modules/wrangler/templates/middleware/common.ts"))).toBe(RUNTIME);
    expect(areaOf(js, at(".wrangler/tmp/bundle-x/middleware-loader.entry.ts"))).toBe(RUNTIME);
    expect(areaOf(frame("formatValue", "node-internal:internal_inspect"), null)).toBe(CONSOLE);
    expect(areaOf(frame("log"), null)).toBe(CONSOLE);
    expect(areaOf(frame("exec"), null)).toBe(NATIVE);
    expect(areaOf(frame(""), null, CONSOLE)).toBe(CONSOLE);
    expect(areaOf(frame(""), null, "src/shard")).toBe(NATIVE);
    expect(areaOf(frame(IDLE), null)).toBe(IDLE);
    expect(areaOf(frame("(root)"), null)).toBe(OTHER);
    expect(areaOf(js, null)).toBe(OTHER);
  });

  it("reads a package's name, scoped or not", () => {
    expect(packageOf("/work/main/node_modules/hono/dist/index.js")).toBe("hono");
    expect(packageOf("node_modules/@hono/swagger-ui/dist/index.js")).toBe("@hono/swagger-ui");
    expect(packageOf("node_modules/a/node_modules/b/x.js")).toBe("b");
    expect(packageOf("src/shard/tick.ts")).toBeNull();
  });
});
