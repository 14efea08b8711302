// A misconfigured Worker fails loudly: every route but the health check answers 500 and logs which
// variable is wrong, instead of running with an empty admin token or cursor key.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { ADMIN, createUser, env, request } from "../support/helpers";

afterEach(() => {
  vi.restoreAllMocks();
});

function without(...names: (keyof Env)[]): Env {
  const copy: Record<string, unknown> = { ...env };
  for (const name of names) delete copy[name];
  return copy as unknown as Env;
}

describe("configuration", () => {
  it("answers 500 on every route but health while a secret is missing, and says why in the log", async () => {
    const user = await createUser();
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: unknown) => {
      errors.push(String(line));
    });
    for (const missing of ["ADMIN_TOKEN", "CURSOR_SECRET"] as const) {
      const broken = without(missing);
      expect((await request("/v1/health", {}, broken)).status).toBe(200);
      for (const [path, init] of [
        ["/v1/jobs", { headers: user.auth }],
        ["/v1/pools", { headers: user.auth }],
        ["/v1/admin/users", { method: "POST", headers: ADMIN, json: {} }],
        ["/v1/openapi.json", {}],
      ] as const) {
        const res = await request(path, init, broken);
        expect(res.status, `${missing}: ${path}`).toBe(500);
        expect(await res.json()).toEqual({
          error: { code: "internal", message: "the server is misconfigured" },
        });
      }
      const logged = errors.map((e) => JSON.parse(e) as { event: string; problems: string[] });
      expect(logged.at(-1)).toEqual({ event: "config_invalid", problems: [`${missing} is missing`] });
    }
  });

  it("answers 500 for an invalid variable rather than quietly using its default", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const res = await request(
      "/v1/admin/users",
      { method: "POST", headers: ADMIN, json: {} },
      {
        ...env,
        SHARDS_PER_USER: "many",
      },
    );
    expect(res.status).toBe(500);
  });
});
