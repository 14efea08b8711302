// Validation at the edge: a value checked against its zod schema, or a 400 naming every problem.
import type { Context } from "hono";
import type { z } from "zod";
import { zodDetails } from "../core/error-detail";
import { type ReadOptions, readJson } from "./body";
import { InvalidRequestError } from "./errors";

/** `value` as `schema` parses it, or a 400 with `message` and one detail per problem (under `prefix`). */
export function validated<S extends z.ZodType>(
  schema: S,
  value: unknown,
  message: string,
  prefix: (string | number)[] = [],
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidRequestError(message, zodDetails(parsed.error, prefix));
  return parsed.data;
}

/**
 * The JSON request body as `schema` parses it: 415, 413 and malformed JSON as readJson answers them,
 * then a 400 with `message` for what the schema refuses. An optional body may be absent (read as {});
 * a route whose body carries many jobs raises the size cap and the depth its envelope adds.
 */
export async function validatedJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  message: string,
  options: ReadOptions = {},
): Promise<z.output<S>> {
  const body = await readJson(c, options);
  return validated(schema, options.optional ? (body ?? {}) : body, message);
}
