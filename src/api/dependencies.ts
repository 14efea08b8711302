// depends_on at the edge (docs/design.md "Dependencies"; docs/architecture.md "Dependencies"): every id a
// submit names is checked on its shard before anything is created (an unknown id, or another user's, is
// a 400), and what is already known of each is handed to the dependent's shard. In a batch, "@N" names an
// earlier item; the items a chain of "@N" ties together are placed on one shard, so the whole graph is
// created in one transaction there.

import { batchRef } from "../core/dependencies";
import { shardOfJobId } from "../core/ids";
import { HOME_SHARD } from "../core/placement";
import type { Env } from "../env";
import { shardStub } from "../shard/address";
import type { KnownDependencies } from "../shard/rpc";
import { type ErrorDetail, InvalidRequestError } from "./errors";

/** The depends_on entries of a raw body, whatever its shape (validation judges the shape). */
export function rawDependencies(body: unknown): string[] {
  const list = (body as { depends_on?: unknown } | null)?.depends_on;
  return Array.isArray(list) ? list.filter((e): e is string => typeof e === "string") : [];
}

/** A dependency to check, and where the request named it. */
export interface NamedDependency {
  id: string;
  path: string;
}

/**
 * Looks up every named id on its shard (one request per shard): throws a 400 naming each one that is
 * not the user's job; returns the outcomes of those already finished (a dependent needs no subscription
 * to hear them). Nothing is written anywhere.
 */
export async function checkDependencies(
  env: Env,
  userId: string,
  named: readonly NamedDependency[],
): Promise<KnownDependencies> {
  const byShard = new Map<number, string[]>();
  for (const { id } of named) {
    const shard = shardOfJobId(id);
    if (shard === null) continue;
    const ids = byShard.get(shard) ?? [];
    if (!ids.includes(id)) ids.push(id);
    byShard.set(shard, ids);
  }
  const known: KnownDependencies = {};
  const unknown = new Set<string>();
  await Promise.all(
    [...byShard].map(async ([shard, ids]) => {
      const states = await shardStub(env, userId, shard).dependencyStates(ids);
      ids.forEach((id, i) => {
        const state = states[i];
        if (state === null || state === undefined) unknown.add(id);
        else if (state !== "pending") known[id] = state;
      });
    }),
  );
  const details: ErrorDetail[] = named
    .filter(({ id }) => shardOfJobId(id) === null || unknown.has(id))
    .map(({ id, path }) => ({ path, message: `no job ${id} of yours` }));
  if (details.length > 0) throw new InvalidRequestError("a job named in depends_on does not exist", details);
  return known;
}

/** A single submit's depends_on: ids only ("@N" is for a batch). */
export function singleDependencies(body: unknown): NamedDependency[] {
  const entries = rawDependencies(body).map((id, j) => ({ id, path: `depends_on[${j}]` }));
  const refs = entries.filter(({ id }) => batchRef(id) !== null);
  if (refs.length > 0) {
    throw new InvalidRequestError(
      "the job is invalid",
      refs.map(({ path }) => ({
        path,
        message: '"@N" names an item of the same batch: use POST /v1/jobs/batch',
      })),
    );
  }
  return entries;
}

/**
 * The batch's "@N" references: each must name an earlier item (problems, as 400 details, otherwise),
 * and the items they tie together form groups placed on one shard: `placeAt` gives each grouped item's
 * shard (the home shard when any of them must live there or carries an idempotency_key, which the home
 * shard is always searched for; otherwise one drawn for the group). Items outside any group are absent.
 */
export function batchGroups(
  bodies: readonly { index: number; body: unknown; home: boolean; keyed: boolean }[],
  shards: number,
  random: () => number,
): { placeAt: Map<number, number>; problems: ErrorDetail[] } {
  const parent = new Map<number, number>(bodies.map((b) => [b.index, b.index]));
  const root = (i: number): number => {
    let r = i;
    while (parent.get(r) !== r) r = parent.get(r) as number;
    return r;
  };
  const problems: ErrorDetail[] = [];
  for (const { index, body } of bodies) {
    rawDependencies(body).forEach((entry, j) => {
      const n = batchRef(entry);
      if (n === null) return;
      if (n >= index || !parent.has(n)) {
        problems.push({
          path: `jobs[${index}].depends_on[${j}]`,
          message: `"@${n}" must name an earlier item`,
        });
        return;
      }
      parent.set(root(index), root(n));
    });
  }
  const members = new Map<number, typeof bodies>();
  for (const b of bodies) members.set(root(b.index), [...(members.get(root(b.index)) ?? []), b]);
  const placeAt = new Map<number, number>();
  for (const group of members.values()) {
    if (group.length < 2) continue;
    const home = group.some((b) => b.home || b.keyed);
    const shard = home ? HOME_SHARD : Math.floor(random() * shards);
    for (const b of group) placeAt.set(b.index, shard);
  }
  return { placeAt, problems };
}
