// Every route's entry in the OpenAPI document, keyed as the Hono app serves it ("METHOD /path/:param"),
// gathered from src/api/operations/ (one file per group of routes; what an entry holds is
// operations/operation.ts). Adding a route: add its entry to its group's file (and any new body or answer
// schema to openapi-components.ts); test/integration/openapi-routes.test.ts fails while a served /v1 route
// has no entry, or an entry lacks its body, query or answer schemas.
import { ADMIN_OPERATIONS } from "./operations/admin";
import { JOB_CONTROL_OPERATIONS } from "./operations/job-controls";
import { JOB_OPERATIONS } from "./operations/jobs";
import type { Operation, RouteKey } from "./operations/operation";
import { RESOURCE_OPERATIONS } from "./operations/resources";

export type { Method, Operation, OperationAnswer, OperationBody, RouteKey } from "./operations/operation";

/** The service's own routes. */
const META_OPERATIONS: Record<RouteKey, Operation> = {
  "GET /v1/health": {
    summary: "Liveness",
    description: "Answers even while the configuration is broken.",
    tag: "meta",
    auth: "none",
    ok: { 200: { description: "alive", schema: "Health", example: { ok: true } } },
  },
  "GET /v1/openapi.json": {
    summary: "This API description",
    tag: "meta",
    auth: "none",
    ok: {
      200: {
        description: "the OpenAPI 3.1 document",
        schema: "OpenApiDocument",
        example: { openapi: "3.1.0", info: { title: "edge-scheduler", version: "1" }, paths: {} },
      },
    },
  },
};

/** In the document's order: the service, jobs, their controls, pools and flow control, admin. */
export const OPERATIONS: Record<RouteKey, Operation> = {
  ...META_OPERATIONS,
  ...JOB_OPERATIONS,
  ...JOB_CONTROL_OPERATIONS,
  ...RESOURCE_OPERATIONS,
  ...ADMIN_OPERATIONS,
};
