// Phase 5, settle: the D1 listing must agree with the shards once the index has settled (bounded).
// The shard is the truth: jobs whose rows disagree are read again from their shard on every round.
import type { JobPage } from "../../harness/api-types";
import type { Reply } from "../../harness/client";
import { listIn, mapLimit, sleep } from "../../harness/util";
import { compareIndex, type IndexDisagreement, type IndexedFields } from "../lib/analyse";
import type { SoakJob } from "../lib/types";
import { readView } from "./drain";
import type { Soak } from "./start";

export interface Settled {
  disagreements: IndexDisagreement[];
  /** Disagreements on jobs still changing: they cannot settle, and are counted apart. */
  unsettled: number;
  firstLook: number | null;
  settledAfterS: number;
}

export async function settle(soak: Soak, jobs: SoakJob[]): Promise<Settled> {
  const { api, log, opts, users } = soak;
  const views = new Map<string, IndexedFields>();
  for (const j of jobs) if (j.view) views.set(j.id, j.view);
  const byUser = new Map<number, SoakJob[]>();
  for (const j of jobs) {
    listIn(byUser, j.user).push(j);
  }
  const listUser = async (u: number) => {
    const docs = new Map<string, IndexedFields>();
    let cursor: string | null = null;
    for (let page = 0; page < 1000; page++) {
      const q: string = `/v1/jobs?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const r: Reply<JobPage> = await api.call<JobPage>("GET", q, {
        token: users[u]?.api_key,
        retryForMs: 60_000,
      });
      if (r.status !== 200) throw new Error(`listing: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      for (const doc of r.body.jobs) docs.set(doc.id, doc);
      cursor = r.body.next_cursor;
      if (!cursor) break;
    }
    return docs;
  };
  const settleStart = Date.now();
  const settleDeadline = settleStart + opts.settleSeconds * 1000;
  let disagreements: IndexDisagreement[] = [];
  let all: IndexDisagreement[] = [];
  let firstLook: number | null = null;
  let usersToCheck = [...byUser.keys()];
  const latest = new Map<number, Map<string, IndexedFields>>();
  for (;;) {
    const results = await mapLimit(usersToCheck, 4, async (u) => [u, await listUser(u)] as const);
    for (const [u, docs] of results) latest.set(u, docs);
    const listed = new Map<string, IndexedFields>();
    for (const docs of latest.values()) for (const [id, doc] of docs) listed.set(id, doc);
    all = compareIndex(views, listed);
    disagreements = all.filter((x) => x.final);
    if (firstLook === null) firstLook = disagreements.length;
    if (disagreements.length === 0 || Date.now() > settleDeadline) break;
    const ids = new Set(disagreements.map((x) => x.id));
    await mapLimit(
      jobs.filter((j) => ids.has(j.id)),
      opts.concurrency,
      async (j) => {
        j.view = await readView(soak, j);
        if (j.view) views.set(j.id, j.view);
      },
    );
    usersToCheck = [...new Set(jobs.filter((j) => ids.has(j.id)).map((j) => j.user))];
    if (usersToCheck.length === 0) usersToCheck = [...byUser.keys()];
    await sleep(1_000);
  }
  const settledAfterS = Math.round((Date.now() - settleStart) / 100) / 10;
  const unsettled = all.length - disagreements.length;
  log(
    `D1: ${disagreements.length} disagreements on finished jobs after ${settledAfterS} s (${firstLook} at first look)` +
      (unsettled ? `; ${unsettled} more on jobs still changing` : ""),
  );
  return { disagreements, unsettled, firstLook, settledAfterS };
}
