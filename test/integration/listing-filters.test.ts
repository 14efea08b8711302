// GET /v1/jobs?name=<prefix>&label=key:value…&created_after=…&created_before=…: the filters read the
// index's doc (name, labels) or its key (created_at), and keyset pages stay exact under them: following next_cursor yields exactly the matching jobs, newest first, once each.
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { JobView } from "../../src/core/job";
import {
  createUser,
  fireAlarm,
  inShard,
  lastCopyDueAt,
  request,
  setShardClock,
  submit,
  type TestUser,
} from "../support/helpers";

type Page = { jobs: JobView[]; next_cursor: string | null };

const NAMES = ["alpha", "alphabet", "Alpha", "beta", "al%_x", null] as const;
const LABELS = [
  ["team", "billing"],
  ["team", "search"],
  ["env", "prod"],
  ["env", "dev"],
  ["a.b", 'x"y'],
] as const;

async function flushIndex(user: TestUser) {
  const due = await inShard(user.user_id, (_s, state) => lastCopyDueAt(state.storage.sql));
  await setShardClock(user.user_id, Math.max(Date.now(), due ?? 0) + 1);
  await fireAlarm(user.user_id);
}

async function list(user: TestUser, params: [string, string][]) {
  const res = await request(`/v1/jobs?${new URLSearchParams(params)}`, { headers: user.auth });
  return { status: res.status, body: (await res.json()) as Page & { error?: { message: string } } };
}

/** Every page of a filtered listing, in order. */
async function listAll(user: TestUser, params: [string, string][], limit: number): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; ; pages++) {
    expect(pages, "pages end").toBeLessThan(50);
    const q: [string, string][] = [...params, ["limit", String(limit)]];
    if (cursor) q.push(["cursor", cursor]);
    const { status, body } = await list(user, q);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.jobs.length).toBeLessThanOrEqual(limit);
    seen.push(...body.jobs.map((j) => j.id));
    cursor = body.next_cursor;
    if (!cursor) return seen;
  }
}

const newestFirst = (a: JobView, b: JobView) =>
  b.created_at.localeCompare(a.created_at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

describe("GET /v1/jobs name and label filters", () => {
  let user: TestUser;
  const views: JobView[] = [];

  beforeAll(async () => {
    user = await createUser();
    for (let i = 0; i < 18; i++) {
      const labels = Object.fromEntries(
        LABELS.filter((_, k) => (i * 7 + k * 3) % 4 === 0 || (i + k) % 5 === 0),
      );
      const name = NAMES[i % NAMES.length];
      const { status, body } = await submit(user, {
        type: "noop",
        run_at: "2030-01-01T00:00:00Z",
        labels,
        ...(name === null ? {} : { name }),
      });
      expect(status).toBe(201);
      views.push(body);
    }
    for (const id of [views[2]?.id, views[9]?.id]) {
      const res = await request(`/v1/jobs/${id}`, { method: "DELETE", headers: user.auth });
      const cancelled = (await res.json()) as JobView;
      views.splice(
        views.findIndex((v) => v.id === id),
        1,
        cancelled,
      );
    }
    await flushIndex(user);
  });

  it("pages exactly the matching jobs under any name, label and status filter and page size", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.option(fc.constantFrom("al", "alpha", "Alpha", "alphabet", "b", "al%", "al%_", "zzz", "a"), {
          nil: undefined,
        }),
        fc.subarray([...LABELS.keys()], { maxLength: 3 }),
        fc.option(fc.constantFrom("scheduled", "cancelled"), { nil: undefined }),
        fc.integer({ min: 1, max: 5 }),
        async (prefix, labelIndexes, status, limit) => {
          const labels = labelIndexes.map((k) => LABELS[k] as readonly [string, string]);
          const params: [string, string][] = [];
          if (prefix !== undefined) params.push(["name", prefix]);
          for (const [k, v] of labels) params.push(["label", `${k}:${v}`]);
          if (status !== undefined) params.push(["status", status]);
          const expected = views
            .filter((v) => prefix === undefined || ((v.name ?? "").startsWith(prefix) && v.name !== null))
            .filter((v) => labels.every(([k, value]) => v.labels[k] === value))
            .filter((v) => status === undefined || v.status === status)
            .sort(newestFirst)
            .map((v) => v.id);
          expect(await listAll(user, params, limit), JSON.stringify(params)).toEqual(expected);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("is not vacuous: the data set has matches and non-matches for the filters", () => {
    const billing = views.filter((v) => v.labels.team === "billing").length;
    expect(billing).toBeGreaterThan(1);
    expect(billing).toBeLessThan(views.length);
    expect(
      views.filter((v) => v.labels.team === "billing" && v.labels.env === "prod").length,
    ).toBeGreaterThan(0);
  });

  it("binds a cursor to its name and label filters", async () => {
    const first = await list(user, [
      ["label", "team:billing"],
      ["limit", "1"],
    ]);
    const cursor = first.body.next_cursor ?? "";
    expect(cursor).not.toBe("");
    expect(
      (
        await list(user, [
          ["label", "team:billing"],
          ["cursor", cursor],
        ])
      ).status,
    ).toBe(200);
    for (const other of [
      [["label", "team:search"]],
      [
        ["label", "team:billing"],
        ["label", "env:prod"],
      ],
      [
        ["label", "team:billing"],
        ["name", "a"],
      ],
      [],
    ] as [string, string][][]) {
      expect((await list(user, [...other, ["cursor", cursor]])).status, JSON.stringify(other)).toBe(400);
    }
  });

  it.each([
    [[["label", "nocolon"]], "label[0]"],
    [[["label", ":value"]], "label[0]"],
    [[["label", `${"k".repeat(65)}:v`]], "label[0].key"],
    [[["label", `k:${"v".repeat(257)}`]], "label[0].value"],
    [Array.from({ length: 11 }, (_, i) => ["label", `k${i}:v`]), "label"],
    [[["name", ""]], "name"],
    [[["name", "n".repeat(201)]], "name"],
  ] as [[string, string][], string][])("answers 400 naming %s for %j", async (params, path) => {
    const { status, body } = await list(user, params);
    expect(status).toBe(400);
    expect(JSON.stringify(body.error)).toContain(`"path":"${path}"`);
  });

  it("pages exactly the jobs created within created_after / created_before, with other filters", async () => {
    const instants = [...new Set(views.map((v) => Date.parse(v.created_at)))].sort((a, b) => a - b);
    const first = instants[0] ?? 0;
    const last = instants.at(-1) ?? 0;
    // Bounds at, just before and just after the jobs' own instants, and outside them all.
    const bound = fc.oneof(
      fc.constantFrom(...instants),
      fc.constantFrom(...instants).map((t) => t + 1),
      fc.constantFrom(...instants).map((t) => t - 1),
      fc.constantFrom(first - 60_000, last + 60_000),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.option(bound, { nil: undefined }),
        fc.option(bound, { nil: undefined }),
        fc.option(fc.constantFrom(0, 2), { nil: undefined }),
        fc.boolean(),
        fc.integer({ min: 1, max: 5 }),
        async (a, b, labelIndex, offset, limit) => {
          const after = a !== undefined && b !== undefined ? Math.min(a, b) : a;
          const before = a !== undefined && b !== undefined ? Math.max(a, b) : b;
          // An offset spelling of the same instant reads the same.
          const spell = (t: number) =>
            offset ? new Date(t + 3_600_000).toISOString().replace("Z", "+01:00") : new Date(t).toISOString();
          const params: [string, string][] = [];
          if (after !== undefined) params.push(["created_after", spell(after)]);
          if (before !== undefined) params.push(["created_before", spell(before)]);
          const label = labelIndex === undefined ? undefined : LABELS[labelIndex];
          if (label) params.push(["label", `${label[0]}:${label[1]}`]);
          const expected = views
            .filter((v) => after === undefined || Date.parse(v.created_at) >= after)
            .filter((v) => before === undefined || Date.parse(v.created_at) < before)
            .filter((v) => !label || v.labels[label[0]] === label[1])
            .sort(newestFirst)
            .map((v) => v.id);
          expect(await listAll(user, params, limit), JSON.stringify(params)).toEqual(expected);
        },
      ),
      { numRuns: 30 },
    );
  });

  it("binds a cursor to its time bounds", async () => {
    const oldest = Date.parse(views.map((v) => v.created_at).sort()[0] ?? "");
    const after = new Date(oldest).toISOString();
    const bounded: [string, string][] = [["created_after", after]];
    const first = await list(user, [...bounded, ["limit", "1"]]);
    const cursor = first.body.next_cursor ?? "";
    expect(cursor).not.toBe("");
    expect((await list(user, [...bounded, ["cursor", cursor]])).status).toBe(200);
    // The same instant spelled with an offset is the same scope.
    const sameInstant = new Date(oldest + 7_200_000).toISOString().replace("Z", "+02:00");
    expect(
      (
        await list(user, [
          ["created_after", sameInstant],
          ["cursor", cursor],
        ])
      ).status,
    ).toBe(200);
    for (const other of [
      [],
      [["created_after", new Date(oldest + 1).toISOString()]],
      [
        ["created_after", after],
        ["created_before", "2100-01-01T00:00:00Z"],
      ],
      [["created_before", after]],
    ] as [string, string][][]) {
      expect((await list(user, [...other, ["cursor", cursor]])).status, JSON.stringify(other)).toBe(400);
    }
    // A cursor handed out without bounds does not serve a bounded listing either.
    const unbounded = (await list(user, [["limit", "1"]])).body.next_cursor ?? "";
    expect(unbounded).not.toBe("");
    expect((await list(user, [...bounded, ["cursor", unbounded]])).status).toBe(400);
  });

  it.each([
    [[["created_after", "yesterday"]], "created_after"],
    [[["created_before", "2026-12-04"]], "created_before"],
    [[["created_after", "2026-12-04T10:00:00"]], "created_after"],
    [
      [
        ["created_after", "2026-12-04T10:00:01Z"],
        ["created_before", "2026-12-04T10:00:00Z"],
      ],
      "created_after",
    ],
  ] as [[string, string][], string][])(
    "answers 400 for a bad time range %j (naming %s)",
    async (params, path) => {
      const { status, body } = await list(user, params);
      expect(status).toBe(400);
      expect(JSON.stringify(body.error)).toContain(`"path":"${path}"`);
    },
  );

  it("takes an empty range (after = before)", async () => {
    const at = views[0]?.created_at ?? "";
    const empty = await list(user, [
      ["created_after", at],
      ["created_before", at],
    ]);
    expect(empty.status).toBe(200);
    expect(empty.body.jobs).toEqual([]);
  });

  it("splits a filter at its first colon, so values may contain colons", async () => {
    const { body } = await submit(user, { type: "noop", labels: { url: "https://x.example/a:b" } });
    await flushIndex(user);
    const found = await list(user, [["label", "url:https://x.example/a:b"]]);
    expect(found.body.jobs.map((j) => j.id)).toEqual([body.id]);
  });
});
