// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` and `tracestate` headers
// a submit may carry, read as the spec says a receiver reads them, and kept with the job so that its
// webhook calls carry them on (docs/architecture.md, "Traces").
//
// The scheduler forwards: it records no spans of its own, so the headers go out as they came in (a
// later version's traceparent written as version 00, as the spec requires). A value the spec says to
// ignore is ignored: never a refusal of the request. Pure: no clock, no I/O.
import { z } from "zod";

/** The trace context a job keeps: both null when the submit had none (or an invalid traceparent). */
export interface TraceHeaders {
  /** Version 00, 55 characters: `00-<trace-id>-<parent-id>-<trace-flags>`. */
  traceparent: string | null;
  /** The vendors' list, members joined by `,`; only with a traceparent, null when empty or invalid. */
  tracestate: string | null;
}

export const NO_TRACE: TraceHeaders = { traceparent: null, tracestate: null };

/** Version 00 exactly: 2, 32, 16 and 2 lowercase hex digits, nothing after. */
const VERSION_00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
/**
 * A later version (01 to fe), read by the spec's rules for one: its first 55 characters in version
 * 00's layout, then the end of the value or a dash (fields this version does not know, not read).
 */
const LATER_VERSION = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-|$)/;
const ALL_ZERO = /^0+$/;

/** The sampled flag: the only trace-flag version 00 defines (the others are written as zero). */
const SAMPLED = 0x01;

/**
 * The traceparent to keep and send, or null when the value must be ignored: version 00 as it came
 * (forwarded unchanged); a later version's trace-id, parent-id and sampled flag as version 00 (the
 * spec's "downgrade the version"); an all-zero trace-id or parent-id, version ff, upper-case hex, a
 * version 00 value with anything after its flags, or any other shape: null.
 */
export function traceparentOf(value: string): string | null {
  const v00 = VERSION_00.exec(value);
  if (v00) {
    const [, traceId, parentId] = v00 as unknown as [string, string, string];
    return ALL_ZERO.test(traceId) || ALL_ZERO.test(parentId) ? null : value;
  }
  const later = LATER_VERSION.exec(value);
  if (!later) return null;
  const [, version, traceId, parentId, flags] = later as unknown as [string, string, string, string, string];
  if (version === "00" || version === "ff") return null;
  if (ALL_ZERO.test(traceId) || ALL_ZERO.test(parentId)) return null;
  const sampled = Number.parseInt(flags, 16) & SAMPLED;
  return `00-${traceId}-${parentId}-0${sampled}`;
}

/** Most members a tracestate list may hold. */
export const TRACESTATE_MAX_MEMBERS = 32;
/** What the scheduler keeps of a tracestate: the spec asks every vendor to propagate at least this. */
export const TRACESTATE_MAX_CHARS = 512;
/** Members longer than this go first when a list must be shortened (the spec's order). */
const LONG_MEMBER = 128;

/** A key: a lowercase letter or digit, then up to 255 of a-z 0-9 _ - * / @. */
const KEY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
/** A value: 1 to 256 printable ASCII characters but `,` and `=`, not ending in a space. */
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
/** Optional whitespace around a member (RFC 7230 OWS: spaces and tabs). */
const OWS = /^[ \t]+|[ \t]+$/g;

/**
 * The tracestate to keep and send, or null when there is nothing to keep: its members in order,
 * joined by `,` (the whitespace around them and empty members dropped, as the spec allows); null
 * when it is empty or invalid (a malformed member, a repeated key, more than 32 members: the header
 * is dropped, never the traceparent). A list over 512 characters is shortened by whole members as the
 * spec orders: members over 128 characters first, then from the end.
 */
export function tracestateOf(value: string): string | null {
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of value.split(",")) {
    const member = raw.replace(OWS, "");
    if (member === "") continue;
    const eq = member.indexOf("=");
    if (eq < 0) return null;
    const key = member.slice(0, eq);
    if (!KEY.test(key) || !VALUE.test(member.slice(eq + 1)) || keys.has(key)) return null;
    keys.add(key);
    members.push(member);
  }
  if (members.length === 0 || members.length > TRACESTATE_MAX_MEMBERS) return null;
  return shortened(members);
}

/** The members joined, at most TRACESTATE_MAX_CHARS long, whole members removed in the spec's order. */
function shortened(members: string[]): string | null {
  const length = (list: string[]) => list.reduce((n, m) => n + m.length, 0) + list.length - 1;
  let kept = members;
  if (length(kept) > TRACESTATE_MAX_CHARS) kept = kept.filter((m) => m.length <= LONG_MEMBER);
  while (kept.length > 0 && length(kept) > TRACESTATE_MAX_CHARS) kept = kept.slice(0, -1);
  return kept.length === 0 ? null : kept.join(",");
}

/**
 * A request's trace context as the job keeps it, from its `traceparent` and `tracestate` headers
 * (absent: undefined). An ignored traceparent leaves no trace at all: the spec forbids reading a
 * tracestate without a valid traceparent.
 */
export function traceHeadersOf(
  traceparent: string | undefined,
  tracestate: string | undefined,
): TraceHeaders {
  const parent = traceparent === undefined ? null : traceparentOf(traceparent);
  if (parent === null) return NO_TRACE;
  return { traceparent: parent, tracestate: tracestate === undefined ? null : tracestateOf(tracestate) };
}

/** The request headers, as read at the API's edge: any strings; what is invalid is ignored, not refused. */
export const TraceHeadersInput = z
  .object({ traceparent: z.string().optional(), tracestate: z.string().optional() })
  .transform(({ traceparent, tracestate }) => traceHeadersOf(traceparent, tracestate));
