// Reading W3C Trace Context headers (src/core/trace-context.ts) as the spec says a receiver reads them:
// version 00 kept byte for byte, a later version downgraded to 00, anything else ignored; tracestate
// only beside a valid traceparent, dropped whole when malformed, shortened by whole members.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  NO_TRACE,
  TRACESTATE_MAX_CHARS,
  TRACESTATE_MAX_MEMBERS,
  TraceHeadersInput,
  traceHeadersOf,
  traceparentOf,
  tracestateOf,
} from "../../src/core/trace-context";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT = "00f067aa0ba902b7";
const V00 = `00-${TRACE}-${PARENT}-01`;

describe("traceparentOf", () => {
  it("keeps a version 00 value exactly as sent, whatever its flags", () => {
    for (const flags of ["00", "01", "02", "ff"]) {
      const value = `00-${TRACE}-${PARENT}-${flags}`;
      expect(traceparentOf(value)).toBe(value);
    }
  });

  it("ignores a version 00 value with a bad field", () => {
    const bad = [
      `00-${"0".repeat(32)}-${PARENT}-01`, // all-zero trace-id
      `00-${TRACE}-${"0".repeat(16)}-01`, // all-zero parent-id
      `00-${TRACE.toUpperCase()}-${PARENT}-01`, // upper-case hex
      `00-${TRACE}-${PARENT.toUpperCase()}-01`,
      `00-${TRACE}-${PARENT}-0F`,
      `00-${TRACE.slice(1)}-${PARENT}-01`, // short trace-id
      `00-${TRACE}0-${PARENT}-01`, // long trace-id
      `00-${TRACE}-${PARENT.slice(1)}-01`,
      `00-${TRACE}-${PARENT}-1`,
      `00-${TRACE}-${PARENT}-01-extra`, // version 00 has nothing after its flags
      `00-${TRACE}-${PARENT}-01 `,
      `00_${TRACE}_${PARENT}_01`,
      `00-${TRACE}-${PARENT}`,
      `00-${TRACE.slice(0, 31)}g-${PARENT}-01`,
      `${V00}, ${V00}`, // two headers, combined
      "",
      "traceparent",
    ];
    for (const value of bad) expect(traceparentOf(value), value).toBeNull();
  });

  it("reads a later version by the spec's rules and writes it as 00, with only the sampled flag", () => {
    expect(traceparentOf(`cc-${TRACE}-${PARENT}-01`)).toBe(V00);
    expect(traceparentOf(`cc-${TRACE}-${PARENT}-01-what-the-future-will-be-like`)).toBe(V00);
    expect(traceparentOf(`01-${TRACE}-${PARENT}-03-x`)).toBe(V00);
    expect(traceparentOf(`fe-${TRACE}-${PARENT}-02`)).toBe(`00-${TRACE}-${PARENT}-00`);
  });

  it("ignores a later version it cannot read, and version ff", () => {
    const bad = [
      `ff-${TRACE}-${PARENT}-01`, // forbidden version
      `cc-${TRACE}-${PARENT}-01.what-the-future-will-be-like`, // flags not followed by a dash
      `cc-${TRACE}-${PARENT}-0`, // shorter than 55 characters
      `cc-${"0".repeat(32)}-${PARENT}-01`,
      `cc-${TRACE}-${"0".repeat(16)}-01`,
      `cc-${TRACE}-${PARENT}x-01`,
      `CC-${TRACE}-${PARENT}-01`,
      `c-${TRACE}-${PARENT}-01`,
    ];
    for (const value of bad) expect(traceparentOf(value), value).toBeNull();
  });

  it("answers null or a version 00 value it would keep as it is, for any text", () => {
    const hex = (n: number) =>
      fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n });
    // Mostly well formed, so that kept values are drawn often: versions known, later, forbidden and
    // bad; zero ids now and then; something or nothing after the flags.
    const shaped = fc
      .tuple(
        fc.constantFrom("00", "01", "cc", "fe", "ff", "0A", "0"),
        fc.oneof(hex(32), fc.constant("0".repeat(32))),
        fc.oneof(hex(16), fc.constant("0".repeat(16))),
        fc.oneof(hex(2), fc.constantFrom("0", "0F")),
        fc.constantFrom("", "-", "-future", ".x", "x"),
      )
      .map(([v, t, p, f, rest]) => `${v}-${t}-${p}-${f}${rest}`);
    fc.assert(
      fc.property(fc.oneof(fc.string(), shaped), (value) => {
        const kept = traceparentOf(value);
        if (kept === null) return;
        expect(kept).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
        expect(traceparentOf(kept)).toBe(kept);
        // The trace-id and the parent-id are always the sender's.
        expect(kept.slice(3, 52)).toBe(value.slice(3, 52));
      }),
    );
  });
});

describe("tracestateOf", () => {
  it("keeps the members in order, without the whitespace around them or empty members", () => {
    expect(tracestateOf("congo=t61rcWkgMzE")).toBe("congo=t61rcWkgMzE");
    expect(tracestateOf(" rojo=00f067aa0ba902b7 ,\tcongo=t61rcWkgMzE ,, ")).toBe(
      "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    );
    // Keys with a tenant, values with inner and leading spaces (kept) and every allowed character.
    expect(tracestateOf("t@vendor=a b,x_y-z*/1= lead,k=!~")).toBe("t@vendor=a b,x_y-z*/1= lead,k=!~");
  });

  it("keeps nothing of an empty list", () => {
    for (const value of ["", " ", ",", " , \t,"]) expect(tracestateOf(value), value).toBeNull();
  });

  it("drops the whole header when a member is malformed or a key repeats", () => {
    const bad = [
      "congo", // no value
      "congo=", // empty value
      "Congo=1", // upper-case key
      "_congo=1", // key starting with neither a letter nor a digit
      "con go=1",
      "congo=a=b", // '=' in a value
      "congo=\u00e9", // not ASCII
      "congo=a\u0001",
      `${"k".repeat(257)}=1`, // key over 256 characters
      `k=${"v".repeat(257)}`, // value over 256 characters
      "congo=1,rojo=2,congo=3",
      "ok=1,bad",
    ];
    for (const value of bad) expect(tracestateOf(value), value).toBeNull();
  });

  it("takes at most 32 members", () => {
    const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v`).join(",");
    expect(tracestateOf(members(TRACESTATE_MAX_MEMBERS))).toBe(members(TRACESTATE_MAX_MEMBERS));
    expect(tracestateOf(members(TRACESTATE_MAX_MEMBERS + 1))).toBeNull();
  });

  it("shortens a list over 512 characters by whole members: those over 128 first, then from the end", () => {
    const long = `big=${"x".repeat(256)}`; // 260 characters
    const short = (i: number) => `k${i}=${"y".repeat(60)}`; // 63 characters
    // 580 characters; without the long member the rest fits, so only it goes (from the end alone,
    // short(4) and short(3) would have gone instead).
    const fits = [short(1), long, short(2), short(3), short(4)];
    expect(tracestateOf(fits.join(","))).toBe([short(1), short(2), short(3), short(4)].join(","));
    // Still too long without it: then the last members go until it fits (8 of 63 characters: 511).
    const many = [long, ...Array.from({ length: 10 }, (_, i) => short(i))];
    const kept = tracestateOf(many.join(",")) ?? "";
    expect(kept).toBe(Array.from({ length: 8 }, (_, i) => short(i)).join(","));
    expect(kept.length).toBeLessThanOrEqual(TRACESTATE_MAX_CHARS);
    // Exactly 512 characters are kept whole.
    const exact = `k=${"z".repeat(254)},j=${"z".repeat(253)}`;
    expect(exact).toHaveLength(TRACESTATE_MAX_CHARS);
    expect(tracestateOf(exact)).toBe(exact);
  });

  it("answers null or a list of at most 512 characters that it would keep as it is", () => {
    const member = fc
      .tuple(
        fc.string({ unit: fc.constantFrom(..."abz09_-*/@A"), minLength: 1, maxLength: 12 }),
        fc.string({ unit: fc.constantFrom(..."az09 !~,=\t"), minLength: 0, maxLength: 150 }),
      )
      .map(([k, v]) => `${k}=${v}`);
    const list = fc
      .array(fc.oneof(member, fc.constantFrom("", " ", "\t")), { maxLength: 40 })
      .map((m) => m.join(","));
    fc.assert(
      fc.property(fc.oneof(list, fc.string()), (value) => {
        const kept = tracestateOf(value);
        if (kept === null) return;
        expect(kept.length).toBeLessThanOrEqual(TRACESTATE_MAX_CHARS);
        expect(tracestateOf(kept)).toBe(kept);
      }),
    );
  });
});

describe("traceHeadersOf", () => {
  it("keeps a valid traceparent and its tracestate", () => {
    expect(traceHeadersOf(V00, "congo=1")).toEqual({ traceparent: V00, tracestate: "congo=1" });
    expect(traceHeadersOf(V00, undefined)).toEqual({ traceparent: V00, tracestate: null });
    // A bad tracestate never costs the traceparent.
    expect(traceHeadersOf(V00, "bad")).toEqual({ traceparent: V00, tracestate: null });
  });

  it("keeps nothing without a valid traceparent, not even a valid tracestate", () => {
    expect(traceHeadersOf(undefined, "congo=1")).toEqual(NO_TRACE);
    expect(traceHeadersOf(`00-${TRACE}-${PARENT}-0x`, "congo=1")).toEqual(NO_TRACE);
    expect(traceHeadersOf(undefined, undefined)).toEqual(NO_TRACE);
  });

  it("reads the request's headers through zod without ever refusing them", () => {
    expect(TraceHeadersInput.parse({ traceparent: V00, tracestate: "a=1" })).toEqual({
      traceparent: V00,
      tracestate: "a=1",
    });
    expect(TraceHeadersInput.safeParse({ traceparent: "garbage", tracestate: "?" })).toEqual({
      success: true,
      data: NO_TRACE,
    });
  });
});
