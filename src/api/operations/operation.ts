// What one route's entry in the OpenAPI document holds (src/api/operations.ts gathers them), and the
// parameters and headers several entries share.
import { z } from "zod";
import type {
  RequestComponent,
  RequestExample,
  ResponseComponent,
  ResponseExample,
} from "../openapi-components";
import { TraceparentHeader, TracestateHeader } from "../schemas";

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
export type RouteKey = `${Method} /${string}`;

/**
 * A JSON body, by component name, with its example (typed by the component's schema; the OpenAPI
 * document shows it, and Swagger UI's "Try it out" sends it).
 */
export type OperationBody = {
  [K in RequestComponent]: { schema: K; optional?: true; example: RequestExample<K> };
}[RequestComponent];

/** A successful answer: what it means, its JSON body's component and an example of it. */
export type OperationAnswer = (
  | { [K in ResponseComponent]: { schema: K; example: ResponseExample<K> } }[ResponseComponent]
  | { schema: "JsonValue"; example: RequestExample<"JsonValue"> }
) & { description: string; alsoText?: string };

export interface Operation {
  summary: string;
  description?: string;
  tag: "jobs" | "pools" | "flow-control" | "admin" | "meta";
  /** Whose bearer token the route needs. */
  auth: "user" | "admin" | "none";
  /**
   * The JSON body, by component name; "none" for a write route that reads no body. Required for POST,
   * PUT and PATCH (the routes test insists), absent for GET and DELETE.
   */
  body?: OperationBody | "none";
  /** Query parameters: one per field of the validating schema. */
  query?: z.ZodObject;
  headers?: { name: string; schema: z.ZodType; description: string }[];
  /** Path parameters' schemas, by name; a parameter not named here is a plain string. */
  params?: Record<string, z.ZodType>;
  /**
   * The answers that are not errors: status → what it means and its JSON body's component (JsonValue:
   * any JSON); `alsoText` when the route also answers text/plain (asked for with Accept).
   */
  ok: Record<number, OperationAnswer>;
  /**
   * Errors beyond those the route's auth, body and query imply (401, 400, 413, 415, 429); a 400 here
   * says what else the route refuses.
   */
  errors?: Partial<Record<400 | 404 | 409 | 426 | 503, string>>;
}

export const jobId = z.string().describe("the job's id (job_<shard>_…)");

/** A submit's trace headers (W3C Trace Context): kept with each job it creates, sent on its webhook calls. */
export const traceHeaders = (jobs: string): NonNullable<Operation["headers"]> => [
  {
    name: "traceparent",
    schema: TraceparentHeader,
    description:
      `W3C Trace Context: kept with ${jobs} and sent as it came on every webhook call and callback ` +
      "(version 00; a later version is read by the spec's rules and sent as 00; shown as `traceparent` " +
      "on the job; an idempotent replay answers the original job's). An invalid value is ignored, as " +
      "W3C requires of a receiver: the submit is not refused, and the job keeps no trace context.",
  },
  {
    name: "tracestate",
    schema: TracestateHeader,
    description:
      `W3C Trace Context: kept with ${jobs} and sent with its traceparent (whitespace and empty ` +
      "members dropped; over 512 characters, shortened by whole members as the spec orders). Read " +
      "only with a valid traceparent; an invalid value is ignored.",
  },
];
export const userId = z.string().describe("the user's id (usr_…)");
