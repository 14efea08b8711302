// The log lines of src/log.ts (one JSON object with an `event` a line) are captured in tests instead of
// printed: many tests inject failures on purpose (a shard down, D1 down, a queue refusing), and their
// error-level lines would read as real errors in `npm test`'s output. Installed by
// test/setup/log-capture.ts (the workers projects' setupFiles). What it does:
//
// - Every event line a test writes is kept (not printed); any other console output passes through.
// - A test asserts on its lines with expectLogged(event, fields) / loggedEvents(event).
// - When a test fails, every line it captured is printed under its name: unexpected errors (and the
//   info lines around them) are there where they explain a failure.
// - LOG_LINES=all prints every line as it is written (as before); LOG_LINES=strict also fails a test
//   that logs an error-level event it did not declare (expectLogged, allowLogged): an audit to run by
//   hand, not CI's default, since an alarm of an earlier test (the files share one workerd) may log
//   during a later one.
import { expect, vi } from "vitest";

export type LogLevel = "info" | "error";
export interface LoggedEvent {
  level: LogLevel;
  event: string;
  /** The whole line, parsed: `event` and its fields. */
  entry: Record<string, unknown>;
  line: string;
}
export type LogLinesMode = "capture" | "all" | "strict";

interface Capture {
  mode: LogLinesMode;
  /** This test's lines (reset before each test). */
  lines: LoggedEvent[];
  /** Error-level events this test said it expects. */
  declared: Set<string>;
  /** console.log / console.error as they were before the first capture: where lines are printed. */
  print: { info: (...args: unknown[]) => void; error: (...args: unknown[]) => void };
}

const MARK = Symbol.for("edge-scheduler.log-capture");
type Marked = ((...args: unknown[]) => void) & { [MARK]?: true };

/** One capture per global scope, whichever copy of this module a test file imported. */
const holder = globalThis as { [MARK]?: Capture };
holder[MARK] ??= {
  mode: "capture",
  lines: [],
  declared: new Set(),
  print: { info: console.log.bind(console), error: console.error.bind(console) },
};
const state: Capture = holder[MARK];

/** The console call as a log event, or null for any other output. */
export function eventOf(args: unknown[], level: LogLevel): LoggedEvent | null {
  const [line] = args;
  if (args.length !== 1 || typeof line !== "string" || !line.startsWith('{"event":')) return null;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    return typeof entry.event === "string" ? { level, event: entry.event, entry, line } : null;
  } catch {
    return null;
  }
}

function wrap(level: LogLevel): Marked {
  const method = level === "info" ? "log" : "error";
  const current = console[method] as Marked;
  // Already ours, or a spy a test left in place over ours (it calls through to ours).
  if (current[MARK] || vi.isMockFunction(current)) return current;
  // Lines are printed with the console's methods as the first install found them (state.print), never
  // with what is there now: that may be ours, bound (printing through it would come back here for ever).
  const capturing: Marked = (...args: unknown[]) => {
    const logged = eventOf(args, level);
    if (logged) state.lines.push(logged);
    if (!logged || state.mode === "all") state.print[level](...args);
  };
  capturing[MARK] = true;
  return capturing;
}

/**
 * Wraps console.log and console.error (once: the setup file runs before every test file, and the
 * files may share one global scope). A spy a test puts on them later still sees every call first.
 */
export function installLogCapture(mode: string | undefined): void {
  state.mode = mode === "all" || mode === "strict" ? mode : "capture";
  console.log = wrap("info");
  console.error = wrap("error");
}

/** Starts a test's capture afresh. */
export function resetLogged(): void {
  state.lines = [];
  state.declared = new Set();
}

/** Every line the current test logged (optionally only one event's), oldest first. */
export function loggedEvents(event?: string): LoggedEvent[] {
  return state.lines.filter((l) => event === undefined || l.event === event);
}

/**
 * Asserts the current test logged `event` with at least these fields (compared as toMatchObject does:
 * nested objects may have more), and declares the event expected. Returns the matching lines' entries.
 */
export function expectLogged(event: string, fields: Record<string, unknown> = {}): Record<string, unknown>[] {
  state.declared.add(event);
  const matching = loggedEvents(event)
    .map((l) => l.entry)
    .filter((e) => matches(e, fields));
  if (matching.length === 0) {
    const logged = state.lines.map((l) => `  ${l.line}`).join("\n") || "  (nothing)";
    expect.fail(`no "${event}" line with ${JSON.stringify(fields)}; the test logged:\n${logged}`);
  }
  return matching;
}

/** Declares error-level events the current test may log without asserting on them. */
export function allowLogged(...events: string[]): void {
  for (const e of events) state.declared.add(e);
}

function matches(entry: Record<string, unknown>, fields: Record<string, unknown>): boolean {
  try {
    expect(entry).toMatchObject(fields);
    return true;
  } catch {
    return false;
  }
}

/** Prints what a failed test captured, under its name. */
export function printCaptured(testName: string): void {
  if (state.mode === "all" || state.lines.length === 0) return;
  state.print.error(`── ${state.lines.length} log line(s) captured during "${testName}":`);
  for (const l of state.lines) state.print[l.level](l.line);
}

/** Under LOG_LINES=strict: the error-level events the current test logged without declaring them. */
export function undeclaredErrors(): LoggedEvent[] {
  if (state.mode !== "strict") return [];
  return state.lines.filter((l) => l.level === "error" && !state.declared.has(l.event));
}
