// The OpenAPI entries of pools and flow-control keys.
// Gathered with the others in src/api/operations.ts. Examples: each operation's body and answers carry one
// (Swagger UI's "Try it out" sends the body's), those shared by several routes in operation-examples.ts;
// test/integration/openapi-examples.test.ts parses each and sends the submit examples through the app.
import { POOL_EXAMPLE } from "../operation-examples";
import { FlowKeyName, PoolName } from "../schemas";
import type { Operation, RouteKey } from "./operation";

export const RESOURCE_OPERATIONS: Record<RouteKey, Operation> = {
  "GET /v1/pools": {
    summary: "List resource pools",
    tag: "pools",
    auth: "user",
    ok: {
      200: { description: "the user's pools", schema: "PoolList", example: { pools: [POOL_EXAMPLE] } },
    },
  },
  "PUT /v1/pools/:name": {
    summary: "Create or resize a pool",
    description:
      "Capacity is at least 1. A user has at most 100 pools (MAX_POOLS, or the user's own `max_pools` " +
      "an admin set): a new pool past that is a 400 naming `name`; resizing an existing pool always works.",
    tag: "pools",
    auth: "user",
    params: { name: PoolName },
    body: { schema: "PoolCapacity", example: { capacity: 4 } },
    ok: { 200: { description: "the pool", schema: "Pool", example: POOL_EXAMPLE } },
    errors: { 400: "also a new pool past the user's cap on pools (100 unless an admin set another)" },
  },
  "DELETE /v1/pools/:name": {
    summary: "Remove a pool",
    description: "Only a pool that no unfinished job names.",
    tag: "pools",
    auth: "user",
    params: { name: PoolName },
    ok: {
      200: {
        description: "the removed pool, as it was",
        schema: "Pool",
        example: { ...POOL_EXAMPLE, in_use: 0, waiting: 0 },
      },
    },
    errors: { 404: "no such pool", 409: "unfinished jobs name the pool" },
  },
  "GET /v1/flow-control": {
    summary: "The flow-control keys in use, busiest first",
    description:
      "Keys with attempts holding a slot, due jobs waiting, or starts within their period, read from " +
      "the home shard: most `running` first, then most `waiting`, then most `started_last_period` " +
      "(ties by key), at most 100. Idle keys are not listed; GET /v1/flow-control/{key} answers any key.",
    tag: "flow-control",
    auth: "user",
    ok: {
      200: {
        description: "the keys in use",
        schema: "FlowKeyList",
        example: {
          keys: [
            { key: "customer-42", running: 2, waiting: 5, started_last_period: 7 },
            { key: "customer-7", running: 1, waiting: 0, started_last_period: 3 },
          ],
        },
      },
    },
  },
  "GET /v1/flow-control/:key": {
    summary: "How a flow-control key stands",
    description:
      "Keys need no set-up: an unknown or idle key answers zeros. `running`: attempts holding one of " +
      "the key's slots (claimed or running); `waiting`: due jobs of the key not yet claimed; " +
      "`started_last_period`: attempts that began within the key's period.",
    tag: "flow-control",
    auth: "user",
    params: { key: FlowKeyName },
    ok: {
      200: {
        description: "the key's use",
        schema: "FlowKey",
        example: { key: "customer-42", running: 2, waiting: 5, started_last_period: 7 },
      },
    },
  },
};
