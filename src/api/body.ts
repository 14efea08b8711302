// Reading a JSON request body: the media type is checked (415), the size is capped while the body
// streams in (413, with or without Content-Length), and malformed JSON is a 400.
import type { Context } from "hono";
import {
  type ErrorDetail,
  InvalidRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from "./errors";

export const MAX_BODY_BYTES = 128 * 1024;

function isJsonMediaType(header: string | undefined): boolean {
  const type = header?.split(";")[0]?.trim().toLowerCase();
  return type === "application/json" || (type?.startsWith("application/") === true && type.endsWith("+json"));
}

async function readCapped(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new PayloadTooLargeError(`the request body exceeds ${max} bytes`);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

export interface ReadOptions {
  /** No body (or only whitespace) reads as `undefined` instead of a 400. */
  optional?: boolean;
  /** A larger cap than MAX_BODY_BYTES, for a route whose body is many jobs (the batch submit). */
  maxBytes?: number;
  /** Levels an envelope adds around the documents it carries, so they may nest as deep as alone. */
  envelopeDepth?: number;
}

/** The parsed JSON body, or `undefined` when the request has no body and `optional` is set. */
export async function readJson(c: Context, options: ReadOptions = {}): Promise<unknown> {
  const max = options.maxBytes ?? MAX_BODY_BYTES;
  const declared = c.req.header("content-length");
  const body = c.req.raw.body;
  if (!body || declared === "0") {
    if (options.optional) return undefined;
    throw new InvalidRequestError("a JSON request body is required");
  }
  if (!isJsonMediaType(c.req.header("content-type"))) throw new UnsupportedMediaTypeError();
  if (declared !== undefined && Number(declared) > max) {
    throw new PayloadTooLargeError(`the request body exceeds ${max} bytes`);
  }
  const bytes = await readCapped(body, max);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new InvalidRequestError("the request body is not valid UTF-8");
  }
  if (text.trim() === "" && options.optional) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidRequestError("the request body is not valid JSON");
  }
  const problem = jsonProblem(value, MAX_JSON_DEPTH + (options.envelopeDepth ?? 0));
  if (problem) throw new InvalidRequestError("the request body is not acceptable JSON", [problem]);
  return value;
}

export const MAX_JSON_DEPTH = 128;

/**
 * What JSON.parse accepts but we must not: nesting deep enough to exhaust the validator's stack,
 * `__proto__` keys (copying them into a plain object would silently drop them and alter what the
 * user sent), and strings with lone surrogates (SQLite would store them as replacement characters).
 * Iterative, so the check itself cannot overflow. A body with none (nearly all) is walked once without
 * naming where each value is; only a body with one is walked again to name it.
 */
function jsonProblem(root: unknown, maxDepth: number): ErrorDetail | null {
  return hasJsonProblem(root, maxDepth) ? firstJsonProblem(root, maxDepth) : null;
}

/** Whether firstJsonProblem would find a problem: the same checks, no paths. */
function hasJsonProblem(root: unknown, maxDepth: number): boolean {
  const values: unknown[] = [root];
  const depths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop() as number;
    if (typeof value === "string") {
      if (!value.isWellFormed()) return true;
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    if (depth >= maxDepth) return true;
    if (Array.isArray(value)) {
      for (const child of value) {
        values.push(child);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      if (key === "__proto__" || !key.isWellFormed()) return true;
      values.push((value as Record<string, unknown>)[key]);
      depths.push(depth + 1);
    }
  }
  return false;
}

/** The first problem of jsonProblem's kinds, named by its path. */
function firstJsonProblem(root: unknown, maxDepth: number): ErrorDetail | null {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value: root, depth: 0, path: "" }];
  const at = (path: string) => path || "(body)";
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop() as { value: unknown; depth: number; path: string };
    if (typeof value === "string") {
      if (!value.isWellFormed())
        return { path: at(path), message: "strings must be well-formed UTF-16 (no lone surrogates)" };
      continue;
    }
    if (value === null || typeof value !== "object") continue;
    if (depth >= maxDepth) return { path: at(path), message: `JSON nested deeper than ${maxDepth} levels` };
    const entries: (readonly [string | number, unknown])[] = Array.isArray(value)
      ? value.map((v, i) => [i, v] as const)
      : Object.entries(value);
    for (const [key, child] of entries) {
      if (typeof key === "string") {
        if (key === "__proto__") return { path: at(path), message: "the key __proto__ is not allowed" };
        if (!key.isWellFormed())
          return { path: at(path), message: "keys must be well-formed UTF-16 (no lone surrogates)" };
      }
      // Named as zodDetails names fields: `jobs[3].payload`.
      const next = typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      stack.push({ value: child, depth: depth + 1, path: next });
    }
  }
  return null;
}
