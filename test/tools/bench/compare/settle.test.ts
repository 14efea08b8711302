// The comparison's wait for a quiet system before each scenario (tools/bench/compare/settle.ts), on an
// injected clock and CPU counter: no sleeping.
import { describe, expect, it } from "vitest";
import { cpuShare, QUIET_SHARE, settle } from "../../../../tools/bench/compare/settle";

/** A fake system whose CPU use per 1 s window follows `shares` (then stays at the last). */
function fake(shares: number[]) {
  let t = 0;
  let cpu = 0;
  let window = 0;
  return {
    now: () => t,
    cpuMs: () => cpu,
    wait: async (ms: number) => {
      cpu += (shares[Math.min(window, shares.length - 1)] ?? 0) * ms;
      window++;
      t += ms;
    },
  };
}

describe("settle", () => {
  it("starts at once on a quiet system: two quiet windows", async () => {
    const out = await settle(() => [1], fake([0.01]));
    expect(out).toEqual({ waited_s: 2, cpu_share: 0.01, quiet: true });
  });

  it("waits while the system is busy, and needs two quiet windows in a row", async () => {
    const out = await settle(() => [1], fake([0.9, 0.8, 0.02, 0.5, 0.01, 0.02]));
    expect(out.quiet).toBe(true);
    expect(out.waited_s).toBe(6);
  });

  it("gives up after two minutes on a system that never quietens, and says so", async () => {
    const out = await settle(() => [1], fake([QUIET_SHARE * 2]));
    expect(out.quiet).toBe(false);
    expect(out.waited_s).toBe(120);
    expect(out.cpu_share).toBeCloseTo(QUIET_SHARE * 2);
  });

  it("reads a share of one core from CPU time over wall time", () => {
    expect(cpuShare(1000, 1500, 1000)).toBe(0.5);
    expect(cpuShare(1000, 900, 1000)).toBe(0);
    expect(cpuShare(0, 10, 0)).toBe(0);
  });
});
