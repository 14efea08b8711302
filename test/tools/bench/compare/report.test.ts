// The comparison table: the steady 300 jobs/s row is judged by issue 16's absolute target (p99 ≤ 1 s),
// whatever BullMQ's figure, and a scenario neither system ran has no row.
import { describe, expect, it } from "vitest";
import { comparisonRows } from "../../../../tools/bench/compare/report";

const steady = (p99: number, duplicates = 0) => ({
  params: { rate: 300, seconds: 15, dueAfterMs: 2000 },
  lateness_ms: { p50: p99 / 2, p99 },
  duplicates,
  ran: 4500,
  submitted: 4500,
  all_ran: true,
  submit: { created: 4500, achieved_per_s: 300 },
});

describe("comparisonRows", () => {
  it("judges steady300 by p99 ≤ 1 s and no duplicates", () => {
    const verdictOf = (s: object) => comparisonRows({ steady300: steady(50) }, { steady300: s })[0]?.[4];
    expect(verdictOf(steady(999))).toBe("met");
    expect(verdictOf(steady(1001))).toBe("MISSED");
    expect(verdictOf(steady(10, 1))).toBe("MISSED");
  });

  it("says how busy the machine was where the run read it, and nothing where it could not", () => {
    const cpu = { machine_busy_cores: 1.764, cores: 2, system_cores: 1.41, harness_cores: 0.2 };
    const cell = (s: object) => comparisonRows({}, { steady300: s })[0]?.[2];
    expect(cell({ ...steady(500), cpu })).toContain(
      "machine 1.76 of 2 cores busy (system 1.41, load driver 0.20)",
    );
    const thread = { running: 0.77, blocked_on_io: null, waiting_for_cpu: 0.131 };
    expect(cell({ ...steady(500), cpu: { ...cpu, processes: [{ main_thread: thread }] } })).toContain(
      "its busiest thread running 0.77, blocked on I/O n/a, waiting for a core 0.13",
    );
    expect(cell({ ...steady(500), cpu: { ...cpu, machine_busy_cores: null } })).not.toContain("machine");
    expect(cell(steady(500))).not.toContain("machine");
  });

  it("leaves out scenarios neither system ran", () => {
    expect(comparisonRows({}, {})).toEqual([]);
    const rows = comparisonRows({ steady300: steady(50) }, {});
    expect(rows.map((r) => r[2])).toEqual(["not run"]);
  });
});
