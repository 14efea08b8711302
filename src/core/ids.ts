// Identifiers. A job id names its shard, so viewing or cancelling a job is one RPC with no lookup;
// an API key names its user, so authentication goes straight to that user's home shard.

/** Most shards one user's jobs may spread over (a job id encodes its shard). */
export const MAX_SHARDS = 256;

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

/**
 * Random bytes from crypto.getRandomValues, drawn a few KiB at a time (a batch of 1,000 jobs makes one
 * call, not 1,000) and each used once. Filled on first use: Workers allow no randomness at load time.
 */
const randomPool = new Uint8Array(4096);
let randomUsed = randomPool.length;

function randomBase32(length: number): string {
  if (randomUsed + length > randomPool.length) {
    crypto.getRandomValues(randomPool);
    randomUsed = 0;
  }
  let out = "";
  for (let i = randomUsed; i < randomUsed + length; i++) out += CROCKFORD[(randomPool[i] as number) & 31];
  randomUsed += length;
  return out;
}

function timeBase32(ms: number): string {
  let out = "";
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function base64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export function base64url(bytes: Uint8Array): string {
  return base64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

const USER_ID = /^usr_[0-9a-hjkmnp-tv-z]{20}$/;
const JOB_ID = /^job_([0-9a-z]{1,4})_[0-9a-hjkmnp-tv-z]{26}$/;
const API_KEY = /^sk_(usr_[0-9a-hjkmnp-tv-z]{20})_[A-Za-z0-9_-]{43}$/;

export function newUserId(): string {
  return `usr_${randomBase32(20)}`;
}

export function isUserId(value: string): boolean {
  return USER_ID.test(value);
}

/** Time-ordered, so ids sort roughly by creation; 80 random bits make guessing hopeless. */
export function newJobId(shard: number, now: number): string {
  return `job_${shard.toString(36)}_${timeBase32(now)}${randomBase32(16)}`;
}

/** The shard a job id names, or null when the id is not one of ours (answered as 404, no RPC). */
export function shardOfJobId(id: string): number | null {
  const match = JOB_ID.exec(id);
  return match?.[1] === undefined ? null : Number.parseInt(match[1], 36);
}

/** Whether `id` has the shape of a job id (any shard). */
export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}

/**
 * An API key of 32 random bytes after the user id: `sk_<user id>_<base64url secret>`, as keys were
 * issued before their tag (issueApiKey); such keys keep working.
 */
export function newApiKey(userId: string): string {
  return `sk_${userId}_${base64url(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** Keys issued carry a tag: 16 random bytes, then 16 bytes of HMAC-SHA256 over the user id and them. */
const KEY_RANDOM_BYTES = 16;
const KEY_TAG_LABEL = "edge-scheduler api-key tag v1";
let tagKeyOf: { secret: string; key: Promise<CryptoKey> } | undefined;

/** The HMAC key tags are made with: derived from the server secret under its own label. */
function tagKey(secret: string): Promise<CryptoKey> {
  if (tagKeyOf?.secret !== secret) {
    const key = (async () => {
      const encoder = new TextEncoder();
      const root = await crypto.subtle.importKey(
        "raw",
        encoder.encode(secret),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      const derived = await crypto.subtle.sign("HMAC", root, encoder.encode(KEY_TAG_LABEL));
      return crypto.subtle.importKey("raw", derived, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    })();
    tagKeyOf = { secret, key };
  }
  return tagKeyOf.key;
}

async function keyTag(userId: string, random: Uint8Array, secret: string): Promise<Uint8Array> {
  const data = new Uint8Array([...new TextEncoder().encode(`${userId}.`), ...random]);
  const mac = await crypto.subtle.sign("HMAC", await tagKey(secret), data);
  return new Uint8Array(mac).slice(0, 32 - KEY_RANDOM_BYTES);
}

/**
 * A new API key of `userId`, in the same shape as every key (`sk_<user id>_<43 chars>`), whose 32
 * bytes are 16 random ones and a tag of them under `secret`. Only the server can make a key whose tag
 * holds (apiKeyTagHolds), so the Worker can tell a key it issued from a guess without asking anyone:
 * failed-login limits never slow such a key (src/api/auth.ts). The tag proves only that the server
 * made the key, not that it is still live: the home shard decides that, as for every key.
 */
export async function issueApiKey(userId: string, secret: string): Promise<string> {
  const random = crypto.getRandomValues(new Uint8Array(KEY_RANDOM_BYTES));
  const tag = await keyTag(userId, random, secret);
  return `sk_${userId}_${base64url(new Uint8Array([...random, ...tag]))}`;
}

/** Whether `key` is well formed and its tag holds under `secret` (compared without an early exit). */
export async function apiKeyTagHolds(key: string, secret: string): Promise<boolean> {
  const userId = userIdOfApiKey(key);
  if (userId === null) return false;
  const text = key.slice(key.length - 43);
  const bytes = fromBase64url(text);
  // Only the canonical spelling: 43 characters carry 258 bits for 256, and a decoder ignores the last
  // character's low 2 bits, so another spelling of the same bytes would pass for the issued key.
  if (bytes === null || bytes.length !== 32 || base64url(bytes) !== text) return false;
  const expected = await keyTag(userId, bytes.slice(0, KEY_RANDOM_BYTES), secret);
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= (expected[i] ?? 0) ^ (bytes[KEY_RANDOM_BYTES + i] ?? 0);
  return diff === 0;
}

function fromBase64url(text: string): Uint8Array | null {
  try {
    const bin = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

export function userIdOfApiKey(key: string): string | null {
  return API_KEY.exec(key)?.[1] ?? null;
}

/** Standard Webhooks secrets are `whsec_` + base64 of the key bytes. */
export function newSigningSecret(): string {
  return `whsec_${base64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

export function shardName(userId: string, shard: number): string {
  return `${userId}/${shard}`;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A key's public id: a prefix of its hash, enough to name it, useless to authenticate with. */
export const keyIdOf = (keyHash: string) => keyHash.slice(0, 16);

/** Compares without an early exit, so timing says nothing of where two secrets differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
