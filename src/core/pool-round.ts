// What one dispatch cycle decides for each due job, taken in effective-priority order. Pure: the shard's
// claimDue feeds it jobs from SQLite, and the tests feed it the same jobs from a model.
//
// The rules (docs/architecture.md, "Resource pools"):
// - a job naming no pool is claimed;
// - a job asking more than a pool holds, or naming an unknown pool, passes: it cannot run until the
//   pool grows, so it holds up nobody;
// - a job whose every pool has its units free and is not reserved is claimed, and takes those units;
// - any other job reserves every pool it names for the rest of the cycle, so no lower job takes units
//   from them (a job needing 3 units, or two pools, is not starved by smaller jobs).
// Within one cycle use only grows and reservations only accumulate, so a pool that is full or reserved
// stays unusable; a job all of whose pools are unusable changes nothing whatever the verdict.

export type Verdict = "claim" | "reserve" | "pass";

export class PoolRound {
  private readonly used: Map<string, number>;
  private readonly reserved = new Set<string>();

  constructor(
    private readonly capacities: ReadonlyMap<string, number>,
    used: ReadonlyMap<string, number>,
  ) {
    this.used = new Map(used);
  }

  /** Decides one job and applies the decision (its units are taken, or its pools reserved). */
  decide(resources: Readonly<Record<string, number>>): Verdict {
    const wants = Object.entries(resources);
    if (wants.some(([pool, units]) => units > (this.capacities.get(pool) ?? 0))) return "pass";
    if (wants.every(([pool, units]) => !this.reserved.has(pool) && this.free(pool) >= units)) {
      for (const [pool, units] of wants) this.used.set(pool, (this.used.get(pool) ?? 0) + units);
      return "claim";
    }
    for (const [pool] of wants) this.reserved.add(pool);
    return "reserve";
  }

  /** Pools no later job of this cycle can take units from: full or reserved. */
  unusable(): string[] {
    return [...this.capacities.keys()].filter((pool) => this.reserved.has(pool) || this.free(pool) <= 0);
  }

  private free(pool: string): number {
    return (this.capacities.get(pool) ?? 0) - (this.used.get(pool) ?? 0);
  }
}
