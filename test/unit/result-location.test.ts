// Result keys (src/core/result-location.ts): every key under its user's own root, never the archive's,
// whatever the prefix; the pointer a job keeps read back only when it names an object of that job.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  legacyResultKey,
  RESULTS_ROOT,
  resultKey,
  resultLocationError,
  storedResultKey,
} from "../../src/core/result-location";

const USER = "usr_0123456789abcdefghjk";
const JOB = "job_0_0123456789abcdefghjkmnpqrs";

describe("result keys", () => {
  it("names an attempt's object under the user's root and the prefix's folders", () => {
    expect(resultKey(USER, "r2://reports/daily/", JOB, 2, 5)).toBe(
      `results/${USER}/reports/daily/${JOB}/2-5.json`,
    );
    expect(resultKey(USER, "r2://archive/usr_other/0", JOB, 0, 1)).toBe(
      `results/${USER}/archive/usr_other/0/${JOB}/0-1.json`,
    );
    // A location stored before `..` was refused still stays under the root.
    expect(resultKey(USER, "r2://../../x//./y", JOB, 0, 1)).toBe(`results/${USER}/x/y/${JOB}/0-1.json`);
    expect(resultKey(USER, "r2:///", JOB, 0, 1)).toBe(`results/${USER}/${JOB}/0-1.json`);
  });

  it("stays under results/<user>/ for any prefix (property)", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9!\-_.*'()/]{1,60}$/), (prefix) => {
        const key = resultKey(USER, `r2://${prefix}`, JOB, 0, 1);
        expect(key.startsWith(`${RESULTS_ROOT}/${USER}/`)).toBe(true);
        expect(key.split("/")).not.toContain("..");
        expect(key.endsWith(`/${JOB}/0-1.json`)).toBe(true);
      }),
    );
  });

  it("refuses `..` segments only", () => {
    for (const bad of ["r2://..", "r2://../x", "r2://a/../b", "r2://a/.."])
      expect(resultLocationError(bad)).toBe("must not contain `..` segments");
    for (const good of ["r2://a..b", "r2://.hidden/x", "r2://a/./b", "r2://a/"])
      expect(resultLocationError(good)).toBeNull();
  });

  it("knows the key a job wrote before results were scoped", () => {
    expect(legacyResultKey("r2://reports/daily/", JOB, 0, 1)).toBe(`reports/daily/${JOB}/0-1.json`);
  });

  it("reads a stored pointer only when it names an object of the job's own", () => {
    const mine = `results/${USER}/x/${JOB}/0-1.json`;
    expect(storedResultKey({ location: `r2://${mine}` }, JOB)).toBe(mine);
    expect(storedResultKey({ location: `r2://x/${JOB}/3-4.json` }, JOB)).toBe(`x/${JOB}/3-4.json`);
    expect(storedResultKey({ location: `r2://archive/${USER}/0/h/${JOB}-ab.jsonl` }, JOB)).toBeNull();
    expect(storedResultKey({ location: "r2://results/usr_x/y/job_0_other/0-1.json" }, JOB)).toBeNull();
    expect(storedResultKey({ status: 200, body: "inline" }, JOB)).toBeNull();
    expect(storedResultKey(null, JOB)).toBeNull();
  });
});
