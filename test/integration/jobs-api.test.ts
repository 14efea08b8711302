// The jobs API through the Worker: every endpoint, every error code it can answer.
import { describe, expect, it } from "vitest";
import { createUser, getJob, inShard, request, submit, type TestUser } from "../support/helpers";

async function jobCount(user: TestUser): Promise<number> {
  return inShard(
    user.user_id,
    (_s, state) => state.storage.sql.exec<{ n: number }>("select count(*) as n from jobs").one().n,
  );
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = (await res.json()) as { error: { code: string; message: string; details?: unknown[] } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error;
}

describe("POST /v1/jobs", () => {
  it("creates a job with the contract's defaults", async () => {
    const user = await createUser();
    const before = Date.now();
    const { status, body } = await submit(user, { type: "noop", name: "nightly" });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      user_id: user.user_id,
      name: "nightly",
      type: "noop",
      // Due at once, and decided by nothing but the claim: it went out with its submit.
      status: "queued",
      priority: 50,
      payload: null,
      interval_seconds: null,
      cron: null,
      timezone: null,
      max_retries: 3,
      current_retries: 0,
      retry_delay_seconds: 30,
      timeout_seconds: 60,
      result_location: null,
      result: null,
      last_error: null,
      resources: {},
      runs: 0,
      last_run_at: null,
      labels: {},
      callback_url: null,
      retry_policy: "all",
      expires_after_seconds: null,
      attempts: [],
    });
    expect(body.id).toMatch(/^job_0_/);
    expect(Date.parse(body.run_at)).toBeGreaterThanOrEqual(before);
    expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("keeps labels, callback_url, retry_policy and expires_after_seconds as given", async () => {
    const user = await createUser();
    const fields = {
      labels: { team: "billing", env: "prod" },
      callback_url: "http://127.0.0.1:9/done",
      retry_policy: "transient",
      expires_after_seconds: 120,
    };
    const { status, body } = await submit(user, { type: "noop", ...fields });
    expect(status).toBe(201);
    expect(body).toMatchObject(fields);
    expect(await getJob(user, body.id)).toMatchObject(fields);
  });

  it.each([
    [{ labels: { k: 1 } }, "labels.k"],
    [{ labels: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, "v"])) }, "labels"],
    [{ labels: { ["k".repeat(65)]: "v" } }, "labels"],
    [{ retry_policy: "never" }, "retry_policy"],
    [{ expires_after_seconds: 0 }, "expires_after_seconds"],
    [{ callback_url: "ftp://example.com/x" }, "callback_url"],
  ])("refuses %j with a 400 naming %s, creating nothing", async (fields, path) => {
    const user = await createUser();
    const res = await request("/v1/jobs", {
      method: "POST",
      headers: { authorization: `Bearer ${user.api_key}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "noop", ...fields }),
    });
    const error = await expectError(res, 400, "invalid_request");
    expect(JSON.stringify(error.details)).toContain(path.split(".")[0]);
    expect(await jobCount(user)).toBe(0);
  });

  it("schedules cron jobs at the next match in their time zone", async () => {
    const user = await createUser();
    const { status, body } = await submit(user, {
      type: "noop",
      cron: "30 9 * * *",
      timezone: "Asia/Tokyo",
      run_at: "2030-01-01T00:00:00Z",
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      cron: "30 9 * * *",
      timezone: "Asia/Tokyo",
      run_at: "2030-01-01T00:30:00.000Z",
    });
  });

  it.each([
    [{}, "type"],
    [{ type: "teleport" }, "type"],
    [{ type: "noop", priority: 101 }, "priority"],
    [{ type: "noop", priority: 1.5 }, "priority"],
    [{ type: "noop", priority: "high" }, "priority"],
    [{ type: "noop", max_retries: 51 }, "max_retries"],
    [{ type: "noop", retry_delay_seconds: 0 }, "retry_delay_seconds"],
    [{ type: "noop", timeout_seconds: 901 }, "timeout_seconds"],
    [{ type: "noop", interval_seconds: 0 }, "interval_seconds"],
    [{ type: "noop", interval_seconds: 60, cron: "* * * * *" }, "cron"],
    [{ type: "noop", cron: "61 * * * *" }, "cron"],
    [{ type: "noop", cron: "* * * * * *" }, "cron"],
    [{ type: "noop", cron: "* * * * *", timezone: "Mars/Olympus" }, "timezone"],
    [{ type: "noop", timezone: "UTC" }, "timezone"],
    [{ type: "noop", run_at: "tomorrow" }, "run_at"],
    [{ type: "noop", run_at: "2099-01-01T00:00:00Z" }, "run_at"],
    [{ type: "noop", name: "x".repeat(201) }, "name"],
    [{ type: "noop", result_location: "s3://bucket" }, "result_location"],
    [{ type: "noop", resources: { gpu: 1 } }, "resources.gpu"],
    [{ type: "noop", resources: { gpu: 0 } }, "resources.gpu"],
    [{ type: "noop", resources: { "bad pool": 1 } }, "resources.bad pool"],
    [{ type: "noop", surprise: true }, "(body)"],
    [{ type: "http", payload: { url: "not a url" } }, "payload.url"],
    [{ type: "http", payload: { url: "https://example.com", method: "TRACE" } }, "payload.method"],
    [{ type: "http" }, "payload"],
  ])("rejects %j with a 400 naming %s, and stores nothing", async (job, path) => {
    const user = await createUser();
    const res = await request("/v1/jobs", { method: "POST", headers: user.auth, json: job });
    const error = await expectError(res, 400, "invalid_request");
    expect((error.details as { path: string }[]).map((d) => d.path)).toContain(path);
    expect(await jobCount(user)).toBe(0);
  });

  it("refuses private targets unless ALLOW_PRIVATE_TARGETS is true", async () => {
    const user = await createUser();
    const { env } = await import("../support/helpers");
    const strict = { ...env, ALLOW_PRIVATE_TARGETS: "false" };
    const job = { type: "http", payload: { url: "http://127.0.0.1:9/hook" } };
    const res = await request("/v1/jobs", { method: "POST", headers: user.auth, json: job }, strict);
    await expectError(res, 400, "invalid_request");
    expect((await submit(user, job)).status).toBe(201);
  });

  it("answers 400 for malformed JSON, 415 for other media types, 413 for oversized bodies", async () => {
    const user = await createUser();
    const post = (body: BodyInit, headers: Record<string, string>) =>
      request("/v1/jobs", { method: "POST", headers: { ...user.auth, ...headers }, body });
    await expectError(
      await post('{"type": "noop"', { "content-type": "application/json" }),
      400,
      "invalid_request",
    );
    await expectError(
      await post("type=noop", { "content-type": "application/x-www-form-urlencoded" }),
      415,
      "unsupported_media_type",
    );
    await expectError(await post('{"type":"noop"}', {}), 415, "unsupported_media_type");
    const big = JSON.stringify({ type: "noop", payload: "x".repeat(200_000) });
    await expectError(await post(big, { "content-type": "application/json" }), 413, "payload_too_large");
    // Streamed without a Content-Length, the cap still holds.
    const stream = new Blob([big]).stream();
    await expectError(await post(stream, { "content-type": "application/json" }), 413, "payload_too_large");
    const payload = JSON.stringify({ type: "noop", payload: "y".repeat(70_000) });
    await expectError(await post(payload, { "content-type": "application/json" }), 413, "payload_too_large");
    expect(await jobCount(user)).toBe(0);
  });

  it("takes a payload of exactly 64 KiB of JSON and refuses one byte more, in characters of any width", async () => {
    const user = await createUser();
    // Quotes included: 2 + 32,767 × 2 bytes (é) = 65,536; 2 + 21,844 × 3 bytes (€) = 65,534.
    const fits = ["é".repeat(32_767), "€".repeat(21_844), `${"€".repeat(21_844)}xx`];
    const over = [`${"é".repeat(32_767)}x`, "€".repeat(21_845), `${"€".repeat(21_844)}xxx`];
    for (const payload of fits) expect((await submit(user, { type: "noop", payload })).status).toBe(201);
    for (const payload of over) {
      const res = await submit(user, { type: "noop", payload });
      expect(res.status).toBe(413);
      expect(res.body.error?.code).toBe("payload_too_large");
    }
    expect(await jobCount(user)).toBe(fits.length);
  });

  it("replays an Idempotency-Key with the same body and refuses it with another", async () => {
    const user = await createUser();
    const headers = { "idempotency-key": "order-42" };
    const first = await submit(user, { type: "noop", priority: 7 }, headers);
    const again = await submit(user, { priority: 7, type: "noop" }, headers);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const other = await request("/v1/jobs", {
      method: "POST",
      headers: { ...user.auth, ...headers },
      json: { type: "noop", priority: 8 },
    });
    await expectError(other, 409, "conflict");
    const tooLong = await request("/v1/jobs", {
      method: "POST",
      headers: { ...user.auth, "idempotency-key": "k".repeat(256) },
      json: { type: "noop" },
    });
    await expectError(tooLong, 400, "invalid_request");
    expect(await jobCount(user)).toBe(1);
  });
});

describe("errors that say how to fix the request", () => {
  it.each([
    [
      { type: "http", url: "https://example.com/hook" },
      "(body)",
      /unknown field "url": did you mean payload\.url\?/,
    ],
    [
      { type: "noop", method: "GET", extra: 1 },
      "(body)",
      /did you mean payload\.method\? .*; unknown field "extra"$/,
    ],
    [
      { type: "noop", run_at: "2030-01-01T09:00:00" },
      "run_at",
      /time zone is required: end it with Z .* or an offset/,
    ],
    [{ type: "noop", run_at: "2030-01-01T09:00" }, "run_at", /time zone is required/],
    [{ type: "noop", run_at: "next tuesday" }, "run_at", /RFC 3339 date-time with Z or an offset/],
    [{ type: "noop", cron: "0 */5 * * * *" }, "cron", /cron takes 5 fields .* has 6; seconds/],
  ])("%j: 400 at %s saying %s", async (body, path, message) => {
    const user = await createUser();
    const res = await request("/v1/jobs", { method: "POST", headers: user.auth, json: body });
    const error = await expectError(res, 400, "invalid_request");
    const details = (error.details ?? []) as { path: string; message: string }[];
    const detail = details.find((d) => d.path === path);
    expect(detail?.message, JSON.stringify(error.details)).toMatch(message);
    expect(await jobCount(user)).toBe(0);
  });
});

describe("idempotency compares the request's meaning, not its text", () => {
  it.each([
    [
      "run_at with and without milliseconds",
      { run_at: "2030-01-01T09:00:00Z" },
      { run_at: "2030-01-01T09:00:00.000Z" },
    ],
    [
      "run_at as Z and as an offset",
      { run_at: "2030-01-01T09:00:00Z" },
      { run_at: "2030-01-01T10:00:00+01:00" },
    ],
    [
      "a default left out and written out",
      {},
      { priority: 50, max_retries: 3, labels: {}, retry_policy: "all" },
    ],
    ["null for an optional field", {}, { name: null, interval_seconds: null }],
    ["a cron's zone left out and UTC", { cron: "0 9 * * *" }, { cron: "0 9 * * *", timezone: "UTC" }],
  ])("replays %s", async (_, first, second) => {
    const user = await createUser();
    const headers = { "idempotency-key": "same-meaning" };
    const a = await submit(user, { type: "noop", ...first }, headers);
    const b = await submit(user, { type: "noop", ...second }, headers);
    expect([a.status, b.status]).toEqual([201, 200]);
    expect(b.body.id).toBe(a.body.id);
  });

  it("still refuses another instant or another payload", async () => {
    const user = await createUser();
    const headers = { "idempotency-key": "other-meaning" };
    const at = (run_at: string, payload?: unknown) =>
      submit(user, { type: "noop", run_at, payload }, headers);
    expect((await at("2030-01-01T09:00:00Z", { a: 1 })).status).toBe(201);
    expect((await at("2030-01-01T09:00:00.001Z", { a: 1 })).status).toBe(409);
    expect((await at("2030-01-01T09:00:00+01:00", { a: 1 })).status).toBe(409);
    expect((await at("2030-01-01T09:00:00Z", { a: 2 })).status).toBe(409);
    expect((await at("2030-01-01T09:00:00.000Z", { a: 1 })).status).toBe(200);
  });

  it("replays a batch item by meaning too", async () => {
    const user = await createUser();
    const post = async (item: Record<string, unknown>) => {
      const res = await request("/v1/jobs/batch", {
        method: "POST",
        headers: user.auth,
        json: { jobs: [{ type: "noop", idempotency_key: "batch-meaning", ...item }] },
      });
      return (await res.json()) as { results: { status: number; job?: { id: string } }[] };
    };
    const first = await post({ run_at: "2030-01-01T09:00:00Z" });
    const second = await post({ run_at: "2030-01-01T09:00:00.000Z", priority: 50 });
    expect([first.results[0]?.status, second.results[0]?.status]).toEqual([201, 200]);
    expect(second.results[0]?.job?.id).toBe(first.results[0]?.job?.id);
  });
});

describe("authentication and isolation", () => {
  it("requires a valid key", async () => {
    const user = await createUser();
    await expectError(await request("/v1/jobs"), 401, "unauthorized");
    await expectError(
      await request("/v1/jobs", { headers: { authorization: "Bearer nope" } }),
      401,
      "unauthorized",
    );
    const forged = `${user.api_key.slice(0, -4)}AAAA`;
    await expectError(
      await request("/v1/jobs", { headers: { authorization: `Bearer ${forged}` } }),
      401,
      "unauthorized",
    );
    await expectError(
      await request("/v1/jobs", { headers: { authorization: user.api_key } }),
      401,
      "unauthorized",
    );
  });

  it("answers 404 for another user's job and leaves it unchanged", async () => {
    const alice = await createUser("alice");
    const mallory = await createUser("mallory");
    const { body: job } = await submit(alice, { type: "noop" });
    await expectError(await request(`/v1/jobs/${job.id}`, { headers: mallory.auth }), 404, "not_found");
    await expectError(
      await request(`/v1/jobs/${job.id}`, { method: "DELETE", headers: mallory.auth }),
      404,
      "not_found",
    );
    await expectError(
      await request("/v1/jobs/job_0_00000000000000000000000000", { headers: alice.auth }),
      404,
      "not_found",
    );
    await expectError(await request("/v1/jobs/not-a-job-id", { headers: alice.auth }), 404, "not_found");
    expect((await getJob(alice, job.id)).status).toBe(job.status);
  });
});

describe("GET and DELETE /v1/jobs/:id", () => {
  it("cancels once, then answers 409", async () => {
    const user = await createUser();
    const { body: job } = await submit(user, { type: "noop", interval_seconds: 60 });
    const res = await request(`/v1/jobs/${job.id}`, { method: "DELETE", headers: user.auth });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe("cancelled");
    await expectError(
      await request(`/v1/jobs/${job.id}`, { method: "DELETE", headers: user.auth }),
      409,
      "conflict",
    );
    expect((await getJob(user, job.id)).status).toBe("cancelled");
  });
});

describe("admin", () => {
  it("creates users only with the admin token, showing the key once", async () => {
    await expectError(await request("/v1/admin/users", { method: "POST", json: {} }), 401, "unauthorized");
    const wrong = { authorization: "Bearer not-the-token" };
    await expectError(
      await request("/v1/admin/users", { method: "POST", headers: wrong, json: {} }),
      401,
      "unauthorized",
    );
    const user = await createUser("Ada");
    expect(user.api_key).toMatch(/^sk_usr_[0-9a-z]{20}_[A-Za-z0-9_-]{43}$/);
    expect(user.signing_secret).toMatch(/^whsec_/);
    const stored = await inShard(user.user_id, (_s, state) =>
      state.storage.sql.exec<{ key_hash: string }>("select key_hash from api_keys").toArray(),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]?.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(stored)).not.toContain(user.api_key);
  });

  it("rejects a bad user body", async () => {
    const res = await request("/v1/admin/users", {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token" },
      json: { name: 42 },
    });
    await expectError(res, 400, "invalid_request");
  });

  it("answers unknown routes with the error envelope", async () => {
    await expectError(await request("/v1/nothing-here"), 404, "not_found");
    expect((await request("/v1/health")).status).toBe(200);
  });
});
