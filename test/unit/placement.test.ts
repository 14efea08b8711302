import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HOME_SHARD, keyLookupShards, keyShard, placeJob } from "../../src/core/placement";

const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
/** A user's shard counts within the key's life: ascending, distinct, 1..256. */
const counts = fc
  .uniqueArray(fc.integer({ min: 1, max: 256 }), { minLength: 1, maxLength: 6 })
  .map((a) => a.sort((x, y) => x - y));

describe("placement", () => {
  it("places a key by its hash under the current count, a pooled job home, others at random", () => {
    const key = "00000005ffff";
    expect(keyShard(key, 1)).toBe(0);
    expect(keyShard(key, 4)).toBe(1);
    expect(keyShard(key, 8)).toBe(5);
    expect(placeJob(true, key, 8, () => 0.99)).toBe(HOME_SHARD);
    expect(placeJob(false, key, 8, () => 0.99)).toBe(5);
    expect(placeJob(false, undefined, 8, () => 0.99)).toBe(7);
    expect(placeJob(false, undefined, 8, () => 0)).toBe(0);
  });

  it("looks on every shard an earlier count or a pool placed the key on, never on its own placement", () => {
    fc.assert(
      fc.property(hex, counts, fc.boolean(), (key, keyShards, pooled) => {
        const current = keyShards[keyShards.length - 1] as number;
        const placed = placeJob(pooled, key, current, () => 0);
        const lookups = keyLookupShards(key, keyShards, placed);
        // Together with the placement, they cover the key's shard under every count, and home.
        const covered = new Set([placed, ...lookups]);
        for (const n of keyShards) expect(covered.has(keyShard(key, n))).toBe(true);
        expect(covered.has(HOME_SHARD)).toBe(true);
        expect(lookups).not.toContain(placed);
        expect(lookups).toEqual([...new Set(lookups)].sort((a, b) => a - b));
      }),
    );
  });

  it("needs no lookup while the user has only ever had one shard", () => {
    fc.assert(
      fc.property(hex, (key) => {
        expect(keyLookupShards(key, [1], keyShard(key, 1))).toEqual([]);
      }),
    );
  });
});
