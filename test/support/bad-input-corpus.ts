// The bad-input corpus: hand-written request bodies for POST /v1/jobs with the answer the contract
// (docs/design.md) requires, and an independent model of "is this submit body valid?" that the
// generated (fast-check) bodies are judged by. Pure: no `cloudflare:*` imports.

export const ERROR_CODES = [
  "invalid_request",
  "unauthorized",
  "not_found",
  "conflict",
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
] as const;

export const STATUS_CODE: Record<number, (typeof ERROR_CODES)[number]> = {
  400: "invalid_request",
  401: "unauthorized",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "rate_limited",
};

export const JOB_STATUSES = ["scheduled", "queued", "running", "paused", "succeeded", "failed", "cancelled"];

/** Far enough ahead that no alarm claims the job while a test looks at it, well within 5 years. */
export const LATER = "2030-01-01T00:00:00Z";

export const utf8 = (text: string) => new TextEncoder().encode(text);
export const concat = (...parts: (Uint8Array | number[])[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const isoIn = (ms: number) => new Date(Date.now() + ms).toISOString();
const DAY = 86_400_000;

export type Expectation =
  /** A 4xx with the error envelope; `path`, when given, must be one of the validation details. */
  | { status: 400 | 413 | 415; path?: string }
  /** Actually valid: 201, the job as sent (the `fields` given), and GET returns the same job. */
  | { status: 201; fields?: Record<string, unknown> }
  /** The contract allows either answer (e.g. duplicate keys: last-wins or refused). */
  | { status: "201-or-400"; fields?: Record<string, unknown> };

export interface BodyCase {
  label: string;
  /** Text and bytes are sent as they are; `json` is serialised with JSON.stringify. */
  body: string | Uint8Array | (() => ReadableStream<Uint8Array>) | { json: unknown };
  /** Defaults to `content-type: application/json`; `null` removes it. */
  headers?: Record<string, string | null>;
  expect: Expectation;
}

const job = (fields: Record<string, unknown>) => ({ json: { type: "noop", run_at: LATER, ...fields } });
const bad = (label: string, fields: Record<string, unknown>, path: string): BodyCase => ({
  label,
  body: job(fields),
  expect: { status: 400, path },
});
const badText = (label: string, text: string): BodyCase => ({ label, body: text, expect: { status: 400 } });

/** A JSON object with an own `__proto__` key (an object literal would set the prototype instead). */
export function withOwnKey(target: Record<string, unknown>, key: string, value: unknown) {
  Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
  return target;
}

function stream(chunk: string, times: number): () => ReadableStream<Uint8Array> {
  const bytes = utf8(chunk);
  return () => {
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < times) controller.enqueue(bytes);
        else controller.close();
      },
    });
  };
}

const bigPayload = (chars: number) => JSON.stringify({ type: "noop", payload: "x".repeat(chars) });

export const BODY_CASES: BodyCase[] = [
  // --- malformed and truncated JSON ---
  badText("truncated object", '{"type": "noop"'),
  badText("truncated inside a string", '{"type": "no'),
  badText("a lone brace", "{"),
  badText("trailing comma", '{"type":"noop",}'),
  badText("single quotes", "{'type':'noop'}"),
  badText("unquoted key", '{type:"noop"}'),
  badText("trailing garbage", '{"type":"noop"} x'),
  badText("two documents", '{"type":"noop"}{"type":"noop"}'),
  badText("a comment", '{"type":"noop" /* c */}'),
  badText("NaN token", '{"type":"noop","priority":NaN}'),
  badText("Infinity token", '{"type":"noop","priority":Infinity}'),
  badText("-Infinity token", '{"type":"noop","priority":-Infinity}'),
  badText("leading zero", '{"type":"noop","priority":01}'),
  badText("leading plus", '{"type":"noop","priority":+1}'),
  badText("bare fraction", '{"type":"noop","priority":.5}'),
  badText("hex number", '{"type":"noop","priority":0x10}'),
  badText("raw control character in a string", '{"type":"noop","name":"a\u0001b"}'),
  badText("short unicode escape", '{"type":"noop","name":"\\u12"}'),
  badText("unknown escape", '{"type":"noop","name":"\\x41"}'),
  badText("undefined literal", "undefined"),
  badText("whitespace only", " \n\t "),
  { label: "empty body", body: "", expect: { status: 400 } },
  // --- JSON that is not a job object ---
  badText("array", "[]"),
  badText("array holding a job", '[{"type":"noop"}]'),
  badText("string", '"noop"'),
  badText("number", "42"),
  badText("null", "null"),
  badText("true", "true"),
  badText("10,000 nested arrays at the top", `${"[".repeat(10_000)}${"]".repeat(10_000)}`),
  { label: "empty object", body: { json: {} }, expect: { status: 400, path: "type" } },
  // --- wrong types and values, field by field ---
  bad("type: number", { type: 1 }, "type"),
  bad("type: null", { type: null }, "type"),
  bad("type: array", { type: ["noop"] }, "type"),
  bad("type: other case", { type: "NOOP" }, "type"),
  bad("type: empty", { type: "" }, "type"),
  bad("type: trailing space", { type: "noop " }, "type"),
  bad("type: __proto__", { type: "__proto__" }, "type"),
  bad("type: constructor", { type: "constructor" }, "type"),
  bad("type: toString", { type: "toString" }, "type"),
  bad("http: payload is a string", { type: "http", payload: "https://example.com" }, "payload"),
  bad("http: url is a number", { type: "http", payload: { url: 42 } }, "payload.url"),
  bad("http: javascript: url", { type: "http", payload: { url: "javascript:alert(1)" } }, "payload.url"),
  bad(
    "http: lowercase method",
    { type: "http", payload: { url: "https://example.com", method: "post" } },
    "payload.method",
  ),
  bad(
    "http: GET with a body",
    { type: "http", payload: { url: "https://example.com", method: "GET", body: "x" } },
    "payload.body",
  ),
  bad(
    "http: CR/LF in a header value",
    { type: "http", payload: { url: "https://example.com", headers: { "x-a": "1\r\nx-b: 2" } } },
    "payload.headers.x-a",
  ),
  bad(
    "http: a framing header",
    { type: "http", payload: { url: "https://example.com", headers: { Host: "evil.example" } } },
    "payload.headers.Host",
  ),
  bad(
    "http: unknown payload key",
    { type: "http", payload: { url: "https://example.com", x: 1 } },
    "payload",
  ),
  bad("run_at: epoch seconds as a number", { run_at: 1_700_000_000 }, "run_at"),
  bad("run_at: epoch seconds as a string", { run_at: "1700000000" }, "run_at"),
  bad("run_at: month 13", { run_at: "2026-13-01T00:00:00Z" }, "run_at"),
  bad("run_at: 29 February of a common year", { run_at: "2027-02-29T00:00:00Z" }, "run_at"),
  bad("run_at: a date without a time", { run_at: "2027-01-01" }, "run_at"),
  bad("run_at: no offset", { run_at: "2027-01-01T00:00:00" }, "run_at"),
  bad("run_at: hour 24", { run_at: "2027-01-01T24:00:00Z" }, "run_at"),
  bad("run_at: second 60", { run_at: "2027-01-01T00:00:60Z" }, "run_at"),
  bad("run_at: offset without a colon", { run_at: "2027-01-01T00:00:00+0100" }, "run_at"),
  bad("run_at: words", { run_at: "tomorrow" }, "run_at"),
  bad("run_at: boolean", { run_at: true }, "run_at"),
  bad("run_at: 5 years and 2 days ahead", { run_at: isoIn(5 * 366 * DAY + 2 * DAY) }, "run_at"),
  bad("run_at: year 9999", { run_at: "9999-12-31T23:59:59Z" }, "run_at"),
  bad("run_at: extended year", { run_at: "+275760-09-13T00:00:00Z" }, "run_at"),
  bad("interval_seconds: 0", { interval_seconds: 0 }, "interval_seconds"),
  bad("interval_seconds: negative", { interval_seconds: -1 }, "interval_seconds"),
  bad("interval_seconds: fraction", { interval_seconds: 1.5 }, "interval_seconds"),
  bad("interval_seconds: over a year", { interval_seconds: 31_536_001 }, "interval_seconds"),
  bad("interval_seconds: string", { interval_seconds: "60" }, "interval_seconds"),
  {
    label: "interval_seconds: 2**53+1 (as text; parses to 2**53, not a safe integer)",
    body: `{"type":"noop","interval_seconds":9007199254740993}`,
    expect: { status: 400, path: "interval_seconds" },
  },
  {
    label: "interval_seconds: 1e309 (Infinity)",
    body: `{"type":"noop","interval_seconds":1e309}`,
    expect: { status: 400, path: "interval_seconds" },
  },
  bad("interval and cron together", { interval_seconds: 60, cron: "* * * * *" }, "cron"),
  bad("timezone without cron", { timezone: "Europe/Paris" }, "timezone"),
  bad("cron: 6 fields", { cron: "0 * * * * *" }, "cron"),
  bad("cron: 4 fields", { cron: "* * * *" }, "cron"),
  bad("cron: minute 60", { cron: "60 * * * *" }, "cron"),
  bad("cron: step 0", { cron: "*/0 * * * *" }, "cron"),
  bad("cron: never matches", { cron: "0 0 30 2 *" }, "cron"),
  bad("cron: @reboot", { cron: "@reboot" }, "cron"),
  bad("cron: blank", { cron: "   " }, "cron"),
  bad("cron: number", { cron: 5 }, "cron"),
  bad("timezone: unknown", { cron: "* * * * *", timezone: "Mars/Olympus" }, "timezone"),
  bad("timezone: an offset", { cron: "* * * * *", timezone: "+01:00" }, "timezone"),
  bad("timezone: a path", { cron: "* * * * *", timezone: "../../etc/passwd" }, "timezone"),
  bad("priority: 101", { priority: 101 }, "priority"),
  bad("priority: -1", { priority: -1 }, "priority"),
  bad("priority: fraction", { priority: 1.5 }, "priority"),
  bad("priority: string", { priority: "50" }, "priority"),
  bad("priority: null", { priority: null }, "priority"),
  {
    label: "priority: 2**53+1 (as text)",
    body: `{"type":"noop","priority":9007199254740993}`,
    expect: { status: 400, path: "priority" },
  },
  {
    label: "priority: 1e309 (Infinity)",
    body: `{"type":"noop","priority":1e309}`,
    expect: { status: 400, path: "priority" },
  },
  bad("max_retries: 51", { max_retries: 51 }, "max_retries"),
  bad("max_retries: boolean", { max_retries: false }, "max_retries"),
  bad("retry_delay_seconds: 0", { retry_delay_seconds: 0 }, "retry_delay_seconds"),
  bad("retry_delay_seconds: over a day", { retry_delay_seconds: 86_401 }, "retry_delay_seconds"),
  bad("timeout_seconds: 0", { timeout_seconds: 0 }, "timeout_seconds"),
  bad("timeout_seconds: 901", { timeout_seconds: 901 }, "timeout_seconds"),
  bad("timeout_seconds: array", { timeout_seconds: [60] }, "timeout_seconds"),
  bad("result_location: s3", { result_location: "s3://bucket" }, "result_location"),
  bad("result_location: empty prefix", { result_location: "r2://" }, "result_location"),
  bad("result_location: space", { result_location: "r2://a b" }, "result_location"),
  bad("result_location: too long", { result_location: `r2://${"a".repeat(600)}` }, "result_location"),
  bad("result_location: number", { result_location: 1 }, "result_location"),
  bad("resources: array", { resources: [] }, "resources"),
  bad("resources: null", { resources: null }, "resources"),
  bad("resources: string", { resources: "gpu" }, "resources"),
  bad("resources: unknown pool", { resources: { gpu: 1 } }, "resources.gpu"),
  bad("resources: zero units", { resources: { gpu: 0 } }, "resources.gpu"),
  bad("resources: negative units", { resources: { gpu: -1 } }, "resources.gpu"),
  bad("resources: fractional units", { resources: { gpu: 1.5 } }, "resources.gpu"),
  bad("resources: constructor", { resources: { constructor: 1 } }, "resources.constructor"),
  bad("name: 201 characters", { name: "x".repeat(201) }, "name"),
  bad("name: number", { name: 42 }, "name"),
  bad("name: object", { name: { first: "x" } }, "name"),
  // Control characters (Unicode Cc) in what people read as names (issue 22).
  bad("name: NUL", { name: "a\u0000b" }, "name"),
  bad("name: line feed", { name: "a\nb" }, "name"),
  bad("name: escape (terminal)", { name: "\u001b[31mred" }, "name"),
  bad("name: C1 control", { name: "a\u0085b" }, "name"),
  bad("labels: control character in a value", { labels: { team: "a\u0000" } }, "labels.team"),
  bad("labels: control character in a key", { labels: { "te\u0007am": "a" } }, "labels.te\u0007am"),
  bad("labels: key of 65 characters", { labels: { ["k".repeat(65)]: "a" } }, `labels.${"k".repeat(65)}`),
  bad("result_location: .. segment", { result_location: "r2://../x" }, "result_location"),
  bad("unknown key", { surprise: true }, "(body)"),
  bad("key in another case", { Type: "noop" }, "(body)"),
  bad("constructor key", { constructor: { prototype: { polluted: true } } }, "(body)"),
  bad("prototype key", { prototype: {} }, "(body)"),
  {
    label: "__proto__ key",
    body: { json: withOwnKey({ type: "noop", run_at: LATER }, "__proto__", { polluted: true }) },
    expect: { status: 400, path: "(body)" },
  },
  // --- sizes ---
  { label: "200 KB body", body: bigPayload(200_000), expect: { status: 413 } },
  { label: "200 KB body streamed", body: stream(bigPayload(200_000), 1), expect: { status: 413 } },
  { label: "2 MB stream of spaces", body: stream(" ".repeat(65_536), 32), expect: { status: 413 } },
  {
    label: "Content-Length of 1 GB",
    body: '{"type":"noop"}',
    headers: { "content-type": "application/json", "content-length": "1000000000" },
    expect: { status: 413 },
  },
  { label: "payload over 64 KiB", body: job({ payload: "y".repeat(66_000) }), expect: { status: 413 } },
  // --- media types ---
  { label: "text/plain", body: job({}), headers: { "content-type": "text/plain" }, expect: { status: 415 } },
  {
    label: "no content-type",
    body: utf8('{"type":"noop"}'),
    headers: { "content-type": null },
    expect: { status: 415 },
  },
  {
    label: "form encoded",
    body: "type=noop",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    expect: { status: 415 },
  },
  {
    label: "multipart",
    body: job({}),
    headers: { "content-type": "multipart/form-data; boundary=x" },
    expect: { status: 415 },
  },
  {
    label: "application/jsonx",
    body: job({}),
    headers: { "content-type": "application/jsonx" },
    expect: { status: 415 },
  },
  // --- bytes that are not UTF-8 ---
  {
    label: "overlong UTF-8 (C0 AF)",
    body: concat(utf8('{"type":"noop","name":"'), [0xc0, 0xaf], utf8('"}')),
    expect: { status: 400 },
  },
  {
    label: "byte FF",
    body: concat(utf8('{"type":"noop","name":"'), [0xff], utf8('"}')),
    expect: { status: 400 },
  },
  {
    label: "truncated 3-byte sequence",
    body: concat(utf8('{"type":"noop","name":"'), [0xe2, 0x82], utf8('"}')),
    expect: { status: 400 },
  },
  {
    label: "UTF-8-encoded surrogate (ED A0 80)",
    body: concat(utf8('{"type":"noop","name":"'), [0xed, 0xa0, 0x80], utf8('"}')),
    expect: { status: 400 },
  },
  {
    label: "latin-1 é under charset=latin1",
    body: concat(utf8('{"type":"noop","name":"'), [0xe9], utf8('"}')),
    headers: { "content-type": "application/json; charset=latin1" },
    expect: { status: 400 },
  },
  {
    label: "UTF-16LE body",
    body: new Uint8Array([...'{"type":"noop"}'].flatMap((ch) => [ch.charCodeAt(0), 0])),
    expect: { status: 400 },
  },
  // --- valid input in unusual clothes: accepted, and stored as sent ---
  {
    label: "charset=utf-8",
    body: job({}),
    headers: { "content-type": "application/json; charset=utf-8" },
    expect: { status: 201 },
  },
  {
    label: "charset=latin1, ASCII body",
    body: job({}),
    headers: { "content-type": "application/json; charset=latin1" },
    expect: { status: 201 },
  },
  {
    label: "upper-case media type",
    body: job({}),
    headers: { "content-type": "APPLICATION/JSON" },
    expect: { status: 201 },
  },
  {
    label: "UTF-8 byte order mark",
    body: concat([0xef, 0xbb, 0xbf], utf8(JSON.stringify({ type: "noop", run_at: LATER }))),
    expect: { status: "201-or-400" },
  },
  {
    label: "1e-400 priority underflows to 0",
    body: `{"type":"noop","run_at":"${LATER}","priority":1e-400}`,
    expect: { status: 201, fields: { priority: 0 } },
  },
  {
    label: "-0 priority",
    body: `{"type":"noop","run_at":"${LATER}","priority":-0}`,
    expect: { status: 201, fields: { priority: 0 } },
  },
  {
    label: "5.0 is an integer",
    body: `{"type":"noop","run_at":"${LATER}","priority":5.0}`,
    expect: { status: 201, fields: { priority: 5 } },
  },
  {
    label: "2**53+1 in the payload",
    body: `{"type":"noop","run_at":"${LATER}","payload":9007199254740993}`,
    expect: { status: 201, fields: { payload: 2 ** 53 } },
  },
  {
    label: "name: zero-width characters",
    body: job({ name: "a\u200bb\u200c\u200d\ufeff" }),
    expect: { status: 201, fields: { name: "a\u200bb\u200c\u200d\ufeff" } },
  },
  {
    label: "name: RTL override",
    body: job({ name: "\u202egnp.exe" }),
    expect: { status: 201, fields: { name: "\u202egnp.exe" } },
  },
  {
    label: "name: 200 emoji (code points)",
    body: job({ name: "😀".repeat(200) }),
    expect: { status: 201, fields: { name: "😀".repeat(200) } },
  },
  {
    label: "name: null means unset",
    body: job({ name: null }),
    expect: { status: 201, fields: { name: null } },
  },
  {
    label: "payload: constructor.prototype",
    body: job({ payload: { constructor: { prototype: { polluted: true } } } }),
    expect: { status: 201, fields: { payload: { constructor: { prototype: { polluted: true } } } } },
  },
  {
    label: "payload: 127 nested arrays (the deepest allowed)",
    body: `{"type":"noop","run_at":"${LATER}","payload":${"[".repeat(127)}${"]".repeat(127)}}`,
    expect: { status: 201 },
  },
  {
    label: "payload: 128 nested arrays",
    body: `{"type":"noop","run_at":"${LATER}","payload":${"[".repeat(128)}${"]".repeat(128)}}`,
    expect: { status: 400 },
  },
  {
    label: "payload: 1,000 nested arrays",
    body: `{"type":"noop","run_at":"${LATER}","payload":${"[".repeat(1000)}${"]".repeat(1000)}}`,
    expect: { status: 400 },
  },
  {
    label: "payload: 20,000 nested objects",
    body: `{"type":"noop","run_at":"${LATER}","payload":${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}}`,
    expect: { status: 400 },
  },
  bad(
    "payload: a __proto__ key",
    { payload: withOwnKey({ a: 1 }, "__proto__", { isAdmin: true }) },
    "payload",
  ),
  bad("resources: a __proto__ pool", { resources: withOwnKey({}, "__proto__", 5) }, "resources"),
  bad("name: a lone surrogate", { name: "\ud800" }, "name"),
  bad("payload: a lone surrogate in a key", { payload: { "a\udc00": 1 } }, "payload"),
  {
    label: "run_at: the Unix epoch means now",
    body: job({ run_at: "1970-01-01T00:00:00Z" }),
    expect: { status: 201 },
  },
  {
    label: "run_at: year 1 means now",
    body: job({ run_at: "0001-01-01T00:00:00Z", interval_seconds: 60 }),
    expect: { status: 201 },
  },
  {
    label: "run_at: nanoseconds",
    body: job({ run_at: "2030-01-01T00:00:00.123456789Z" }),
    expect: { status: 201, fields: { run_at: "2030-01-01T00:00:00.123Z" } },
  },
  {
    label: "run_at: +23:59 offset",
    body: job({ run_at: "2030-01-01T00:00:00+23:59" }),
    expect: { status: 201, fields: { run_at: "2029-12-31T00:01:00.000Z" } },
  },
  {
    label: "run_at: 29 February of a leap year",
    body: job({ run_at: "2028-02-29T00:00:00Z" }),
    expect: { status: 201, fields: { run_at: "2028-02-29T00:00:00.000Z" } },
  },
  {
    label: "cron: @hourly",
    body: job({ cron: "@hourly" }),
    expect: { status: 201, fields: { cron: "@hourly", timezone: "UTC", run_at: "2030-01-01T00:00:00.000Z" } },
  },
  {
    label: "cron with a null interval",
    body: job({ cron: "0 9 * * 1", interval_seconds: null, timezone: "Asia/Tokyo" }),
    expect: { status: 201, fields: { interval_seconds: null, timezone: "Asia/Tokyo" } },
  },
  {
    label: "duplicate key, last one valid",
    body: `{"type":"http","type":"noop","run_at":"${LATER}"}`,
    expect: { status: "201-or-400", fields: { type: "noop" } },
  },
  {
    label: "duplicate key, last one invalid (text)",
    body: `{"type":"noop","priority":1,"priority":101}`,
    expect: { status: 400, path: "priority" },
  },
];

// ------------------------------------------------------------------------------------------------
// The model of a valid submit body, for generated bodies. It follows the contract's table, the
// documented choices in docs/architecture.md (unknown fields are refused; optional fields accept
// null as "not set"), and the contract's 64 KiB payload cap; the user it is run for has no pools.

export const FIELDS = [
  "type",
  "payload",
  "run_at",
  "interval_seconds",
  "cron",
  "timezone",
  "priority",
  "max_retries",
  "retry_delay_seconds",
  "timeout_seconds",
  "result_location",
  "resources",
  "name",
] as const;

const NULLABLE = new Set(["run_at", "interval_seconds", "cron", "timezone", "result_location", "name"]);
const MAX_FUTURE_MS = 5 * 365 * DAY;
/** Near the 5-year limit (365 or 366-day years?) either answer is right; such values are skipped. */
const FUTURE_MARGIN_MS = 7 * DAY;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isIntIn = (v: unknown, min: number, max: number) =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max;
const codePoints = (s: string) => [...s].length;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/;

/** An RFC 3339 date-time with a real calendar date; `null` when it is not one. */
export function rfc3339(value: string): number | null {
  const m = RFC3339.exec(value);
  if (!m) return null;
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map(Number);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
  if (day < 1 || day > days || hour > 23 || minute > 59 || second > 59) return null;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : at;
}

function isZone(value: unknown): boolean {
  if (typeof value !== "string" || !/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(value)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** Cron expressions the generators use, with whether each is valid. Others are judged invalid. */
export const CRONS: Record<string, boolean> = {
  "* * * * *": true,
  "*/15 * * * *": true,
  "0 9 * * 1-5": true,
  "30 2 1 * *": true,
  "@daily": true,
  "0 0 L * *": true,
  "0 * * * * *": false,
  "60 * * * *": false,
  "* * * *": false,
  "0 0 30 2 *": false,
  "*/0 * * * *": false,
  "@reboot": false,
  "": false,
  " ": false,
};

const RESERVED_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "upgrade"]);

function isHttpPayload(p: unknown): boolean {
  if (!isObject(p)) return false;
  if (Object.keys(p).some((k) => !["url", "method", "headers", "body"].includes(k))) return false;
  if (typeof p.url !== "string" || p.url.length > 2048) return false;
  try {
    const u = new URL(p.url);
    if (u.protocol !== "https:" && u.protocol !== "http:") return false;
    if (u.username !== "" || u.password !== "") return false;
  } catch {
    return false;
  }
  if (p.method !== undefined && !["POST", "PUT", "PATCH", "GET", "DELETE"].includes(p.method as string))
    return false;
  if (p.headers !== undefined) {
    if (!isObject(p.headers) || Object.keys(p.headers).length > 64) return false;
    for (const [name, value] of Object.entries(p.headers)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/.test(name) || RESERVED_HEADERS.has(name.toLowerCase()))
        return false;
      if (typeof value !== "string" || value.length > 8192 || !/^[\t\x20-\x7e\x80-\xff]*$/.test(value))
        return false;
    }
  }
  return !(p.method === "GET" && p.body !== undefined);
}

export interface Verdict {
  /** Every field is valid and the combination is allowed. */
  valid: boolean;
  /** The payload is over the contract's 64 KiB. */
  tooLarge: boolean;
}

/** What the contract says of a submit body, as the server parsed it. */
export function judge(body: unknown, now = Date.now()): Verdict {
  if (!isObject(body) || unacceptableJson(body)) return { valid: false, tooLarge: false };
  const tooLarge = new TextEncoder().encode(JSON.stringify(body.payload ?? null)).byteLength > 64 * 1024;
  const invalid = { valid: false, tooLarge };
  if (Object.keys(body).some((k) => !(FIELDS as readonly string[]).includes(k))) return invalid;
  const set = (k: string) => body[k] !== undefined && !(NULLABLE.has(k) && body[k] === null);
  const checks: [string, (v: unknown) => boolean][] = [
    [
      "run_at",
      (v) => typeof v === "string" && (rfc3339(v) ?? Number.POSITIVE_INFINITY) <= now + MAX_FUTURE_MS,
    ],
    ["interval_seconds", (v) => isIntIn(v, 1, 31_536_000)],
    ["cron", (v) => typeof v === "string" && CRONS[v] === true],
    ["timezone", (v) => isZone(v)],
    ["priority", (v) => isIntIn(v, 0, 100)],
    ["max_retries", (v) => isIntIn(v, 0, 50)],
    ["retry_delay_seconds", (v) => isIntIn(v, 1, 86_400)],
    ["timeout_seconds", (v) => isIntIn(v, 1, 900)],
    [
      "result_location",
      (v) =>
        typeof v === "string" &&
        /^r2:\/\/[A-Za-z0-9!\-_.*'()/]{1,500}$/.test(v) &&
        !v.slice("r2://".length).split("/").includes(".."),
    ],
    ["resources", (v) => isObject(v) && Object.keys(v).length === 0],
    ["name", (v) => typeof v === "string" && codePoints(v) <= 200 && !/\p{Cc}/u.test(v)],
  ];
  for (const [key, ok] of checks) if (set(key) && !ok(body[key])) return invalid;
  if (body.type !== "noop" && body.type !== "http") return invalid;
  if (set("cron") && set("interval_seconds")) return invalid;
  if (set("timezone") && !set("cron")) return invalid;
  if (body.type === "http" && !isHttpPayload(body.payload)) return invalid;
  return { valid: true, tooLarge };
}

/**
 * The statuses the contract allows for a verdict. A body that is both invalid and too large may
 * be refused for either reason.
 */
export function allowedStatuses(v: Verdict): number[] {
  if (v.tooLarge) return v.valid ? [413] : [400, 413];
  return v.valid ? [201] : [400];
}

/** run_at values whose answer is certain however long a test run takes. */
export function certainRunAt(value: unknown, now = Date.now()): boolean {
  if (typeof value !== "string") return true;
  const at = rfc3339(value);
  return at === null || Math.abs(at - (now + MAX_FUTURE_MS)) > FUTURE_MARGIN_MS;
}

/**
 * What the server refuses in any JSON body before looking at fields: nesting of 128 levels or more
 * (the root is level 0), `__proto__` keys, and strings or keys with lone surrogates.
 */
export function unacceptableJson(root: unknown): boolean {
  const walk = (v: unknown, depth: number): boolean => {
    if (typeof v === "string") return !v.isWellFormed();
    if (v === null || typeof v !== "object") return false;
    if (depth >= 128) return true;
    if (Array.isArray(v)) return v.some((x) => walk(x, depth + 1));
    return Object.entries(v).some(([k, x]) => k === "__proto__" || !k.isWellFormed() || walk(x, depth + 1));
  };
  return walk(root, 0);
}
