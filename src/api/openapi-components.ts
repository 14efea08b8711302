// The OpenAPI document's named schemas, from the zod schemas that validate requests and describe
// answers. zod converts each registry in one pass, so a schema used in two places (the recursive JSON
// value, the job) becomes one component and every reference points at #/components/schemas/<name>.
import { z } from "zod";
import { AttemptViewSchema, JobViewSchema, JsonValue } from "../core/job";
import { AdminMetricsSchema, UserMetricsSchema } from "../core/metrics";
import { httpPayloadSchema } from "../executors/http-payload";
import {
  ApiKey,
  ApiKeyList,
  BatchResults,
  CreatedUser,
  Dependents,
  ErrorEnvelope,
  FlowKey,
  FlowKeyList,
  Health,
  IssuedKey,
  JobPage,
  Matched,
  OpenApiDocument,
  Pool,
  PoolList,
  RotatedSecret,
  UserLimits,
  UserPage,
} from "./responses";
import {
  BatchSubmitSchema,
  JobFilterSchema,
  NewUser,
  PatchSchema,
  PoolBody,
  Rotation,
  ShardsBody,
  SubmitSchema,
} from "./schemas";

/** Request bodies and what they use, converted as zod parses input (defaults optional). */
const REQUESTS = {
  JsonValue,
  HttpPayload: httpPayloadSchema,
  SubmitJob: SubmitSchema,
  SubmitBatch: BatchSubmitSchema,
  PatchJob: PatchSchema,
  JobFilter: JobFilterSchema,
  PoolCapacity: PoolBody,
  NewUser,
  UserLimitsChange: ShardsBody,
  SigningSecretRotation: Rotation,
} satisfies Record<string, z.ZodType>;

/** Answers, converted as the server writes them. */
const RESPONSES = {
  Error: ErrorEnvelope,
  Job: JobViewSchema,
  Attempt: AttemptViewSchema,
  JobPage,
  BatchResults,
  Matched,
  Health,
  Pool,
  PoolList,
  FlowKey,
  FlowKeyList,
  Dependents,
  Metrics: UserMetricsSchema,
  AdminMetrics: AdminMetricsSchema,
  CreatedUser,
  UserPage,
  UserLimits,
  IssuedKey,
  ApiKey,
  ApiKeyList,
  RotatedSecret,
  OpenApiDocument,
} satisfies Record<string, z.ZodType>;

export type RequestComponent = keyof typeof REQUESTS;
export type ResponseComponent = keyof typeof RESPONSES;

/** Each component's zod schema, by name: the tests parse the operations' examples with them. */
export const REQUEST_SCHEMAS: Readonly<Record<RequestComponent, z.ZodType>> = REQUESTS;
export const RESPONSE_SCHEMAS: Readonly<Record<ResponseComponent, z.ZodType>> = RESPONSES;

/** A request body's example, as a client sends it (defaults may be left out). */
export type RequestExample<K extends RequestComponent> = z.input<(typeof REQUESTS)[K]>;
/** An answer's example, as the server writes it. */
export type ResponseExample<K extends ResponseComponent> = z.output<(typeof RESPONSES)[K]>;

export const componentRef = (name: RequestComponent | ResponseComponent | "JsonValue") => ({
  $ref: `#/components/schemas/${name}`,
});

type JsonSchema = Record<string, unknown>;

function convert(schemas: Record<string, z.ZodType>, io: "input" | "output"): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const { schemas: converted } = z.toJSONSchema(registry, {
    io,
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
  });
  // Each entry is a standalone JSON Schema document; inside `components` the dialect and the ids are
  // the OpenAPI document's.
  const out: Record<string, JsonSchema> = {};
  for (const [id, { $schema: _s, $id: _i, ...rest }] of Object.entries(converted)) out[id] = rest;
  return out;
}

/** An http job's payload is an HttpPayload: stated in the schema, where a validator can check it. */
function withHttpPayload(submit: JsonSchema): JsonSchema {
  return {
    ...submit,
    if: { properties: { type: { const: "http" } }, required: ["type"] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keywords, not a thenable
    then: { properties: { payload: componentRef("HttpPayload") } },
  };
}

export function componentSchemas(): Record<string, JsonSchema> {
  const requests = convert(REQUESTS, "input");
  const responses = convert(RESPONSES, "output");
  const shared = Object.keys(requests).filter((id) => id in responses && id !== "JsonValue");
  if (shared.length > 0) throw new Error(`components named twice: ${shared.join(", ")}`);
  const all = { ...requests, ...responses };
  if (all.SubmitJob) all.SubmitJob = withHttpPayload(all.SubmitJob);
  return all;
}
