// The API description, built from the routes' table (operations.ts) and the zod schemas that validate
// requests and describe answers, so it cannot drift from what the server does. Free of Workers APIs:
// client/codegen builds it without a server, and a Node test validates it.
import { z } from "zod";
import { componentRef, componentSchemas } from "./openapi-components";
import { type Method, OPERATIONS, type Operation, type RouteKey } from "./operations";

export interface Server {
  url: string;
  description: string;
}

/** Where `npm run dev` serves: the document's server when no request says otherwise. */
export const LOCAL_SERVER: Server = { url: "http://127.0.0.1:8787", description: "npm run dev" };

/** Hono's `/v1/jobs/:id` as OpenAPI writes it: `/v1/jobs/{id}`. */
export const openApiPath = (route: string): string => route.replace(/:([A-Za-z0-9_]+)/g, "{$1}");

export function splitRouteKey(key: RouteKey): { method: Method; route: string } {
  const [method, route] = key.split(" ") as [Method, string];
  return { method, route };
}

const jsonSchemaOf = (schema: z.ZodType): Record<string, unknown> => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
};

/** A JSON body's content; with its example where there is one (Swagger UI's "Try it out" sends it). */
const json = (schema: Record<string, unknown>, example?: unknown) => ({
  content: { "application/json": { schema, ...(example === undefined ? {} : { example }) } },
});

const ERROR_MEANINGS: Record<number, string> = {
  400: "invalid_request: the body, query or a parameter is invalid (details name each field)",
  401: "unauthorized: a missing or wrong bearer token (`Authorization: Bearer <key>`; the answer carries `WWW-Authenticate: Bearer` and says which mistake it saw)",
  404: "not_found",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type: the body must be application/json",
  426: "upgrade_required",
  429: "rate_limited: wait Retry-After seconds",
  503: "unavailable: wait Retry-After seconds",
};

/**
 * Why a route answers 429 by whose token it takes. The failed-authentication numbers are the defaults
 * (AUTH_FAILURE_LIMIT, AUTH_FAILURE_WINDOW_SECONDS: docs/design.md, HTTP contract).
 */
const RATE_LIMITED: Record<"user" | "admin", string> = {
  user:
    "rate_limited: wait Retry-After seconds. The key's request rate is spent, or too many failed " +
    "authentications came from this client address or named this user (20 at once, then 20 a minute " +
    "each); a key the server issued is never slowed by others' failures",
  admin:
    "rate_limited: wait Retry-After seconds. Too many wrong admin tokens came from this client address " +
    "(20 at once, then 20 a minute); other clients are not slowed",
};

const retryAfter = {
  "Retry-After": { description: "seconds to wait", schema: { type: "integer", minimum: 0 } },
};

/** The errors a route's shape implies, then its own. */
function errorResponses(op: Operation): Record<string, unknown> {
  const statuses = new Map<number, string>();
  const takesInput = (op.body !== undefined && op.body !== "none") || op.query || op.params || op.headers;
  if (takesInput) statuses.set(400, ERROR_MEANINGS[400] as string);
  if (op.auth !== "none") statuses.set(401, ERROR_MEANINGS[401] as string);
  if (op.body !== undefined && op.body !== "none") {
    statuses.set(413, ERROR_MEANINGS[413] as string);
    statuses.set(415, ERROR_MEANINGS[415] as string);
  }
  if (op.auth !== "none") statuses.set(429, RATE_LIMITED[op.auth]);
  for (const [status, meaning] of Object.entries(op.errors ?? {})) {
    statuses.set(Number(status), `${ERROR_MEANINGS[Number(status)]}: ${meaning}`);
  }
  return Object.fromEntries(
    [...statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, description]) => [
        String(status),
        {
          description,
          ...(status === 429 || status === 503 ? { headers: retryAfter } : {}),
          ...json(componentRef("Error")),
        },
      ]),
  );
}

function parameters(route: string, op: Operation): Record<string, unknown>[] {
  const path = [...route.matchAll(/:([A-Za-z0-9_]+)/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    schema: jsonSchemaOf(op.params?.[name as string] ?? z.string()),
  }));
  const query = Object.entries(op.query?.shape ?? {}).map(([name, schema]) => {
    const { description, ...rest } = jsonSchemaOf(schema as z.ZodType);
    return { name, in: "query", required: false, ...(description ? { description } : {}), schema: rest };
  });
  const headers = (op.headers ?? []).map((h) => ({
    name: h.name,
    in: "header",
    required: false,
    description: h.description,
    schema: jsonSchemaOf(h.schema),
  }));
  return [...path, ...query, ...headers];
}

export function operationObject(key: RouteKey, op: Operation): Record<string, unknown> {
  const { method, route } = splitRouteKey(key);
  const params = parameters(route, op);
  const body = op.body !== undefined && op.body !== "none" ? op.body : undefined;
  return {
    operationId: `${method.toLowerCase()}${openApiPath(route).replace(/[^A-Za-z0-9]+(.)?/g, (_m, c?: string) => (c ?? "").toUpperCase())}`,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: [op.tag],
    security: op.auth === "none" ? [] : [{ [op.auth === "admin" ? "adminToken" : "apiKey"]: [] }],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(body
      ? {
          requestBody: {
            required: body.optional !== true,
            ...json(componentRef(body.schema), body.example),
          },
        }
      : {}),
    responses: {
      ...Object.fromEntries(
        Object.entries(op.ok).map(([status, { description, schema, alsoText, example }]) => {
          const { content } = json(componentRef(schema), example);
          const text = alsoText
            ? { "text/plain": { schema: { type: "string", description: alsoText } } }
            : {};
          return [status, { description, content: { ...content, ...text } }];
        }),
      ),
      ...errorResponses(op),
    },
  };
}

let cached: Record<string, unknown> | undefined;

/** The document without `servers` (built once per isolate). */
function documentBody(): Record<string, unknown> {
  if (cached) return cached;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [key, op] of Object.entries(OPERATIONS) as [RouteKey, Operation][]) {
    const { method, route } = splitRouteKey(key);
    const path = openApiPath(route);
    paths[path] = { ...paths[path], [method.toLowerCase()]: operationObject(key, op) };
  }
  cached = {
    openapi: "3.1.0",
    info: {
      title: "edge-scheduler",
      version: "1",
      description:
        "A job scheduler on Cloudflare Workers and Durable Objects. Errors are always " +
        '`{"error": {"code", "message", "details"?}}`. Timestamps are RFC 3339 in UTC.',
    },
    tags: [
      { name: "jobs", description: "submit, view, list and control jobs" },
      { name: "pools", description: "resource pools that cap what jobs hold at once" },
      {
        name: "flow-control",
        description: "per-key concurrency and rate limits, shared by the jobs that name the key",
      },
      { name: "admin", description: "users and their credentials (the admin token)" },
      { name: "meta", description: "liveness and this description" },
    ],
    components: {
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "a user's API key (sk_usr_…)" },
        adminToken: { type: "http", scheme: "bearer", description: "the ADMIN_TOKEN secret" },
      },
      schemas: componentSchemas(),
    },
    paths,
  };
  return cached;
}

/** The whole document, served from `servers`: the caller's own copy. */
export function openApiDocument(servers: Server[] = [LOCAL_SERVER]): Record<string, unknown> {
  const { openapi: version, info, ...rest } = structuredClone(documentBody());
  return { openapi: version, info, servers, ...rest };
}
