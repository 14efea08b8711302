// Checking a refusal: the contract's error envelope exactly, and the user's home shard unchanged.
import { expect } from "vitest";
import { ERROR_CODES, STATUS_CODE } from "./bad-input-corpus";
import { inShard, type TestUser } from "./helpers";

export interface ErrorBody {
  code: string;
  message: string;
  details?: { path: string; message: string }[];
}

export async function counts(user: TestUser): Promise<{ jobs: number; keys: number }> {
  return inShard(user.user_id, (_s, state) =>
    state.storage.sql
      .exec<{ jobs: number; keys: number }>(
        "select (select count(*) from jobs) as jobs, (select count(*) from idempotency_keys) as keys",
      )
      .one(),
  );
}

/** Checks the error envelope exactly: `{"error": {"code", "message", "details"?}}`, code per status. */
export async function expectEnvelope(res: Response, status?: number): Promise<ErrorBody> {
  if (status !== undefined) expect(res.status).toBe(status);
  expect(res.status).toBeGreaterThanOrEqual(400);
  expect(res.status).toBeLessThan(500);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: ErrorBody };
  expect(Object.keys(body)).toEqual(["error"]);
  const { code, message, details, ...rest } = body.error;
  expect(rest).toEqual({});
  expect(ERROR_CODES).toContain(code);
  expect(code).toBe(STATUS_CODE[res.status]);
  expect(typeof message).toBe("string");
  expect(message.length).toBeGreaterThan(0);
  if (details !== undefined) {
    expect(Array.isArray(details)).toBe(true);
    for (const d of details) {
      expect(Object.keys(d).sort()).toEqual(["message", "path"]);
      expect(typeof d.path).toBe("string");
      expect(typeof d.message).toBe("string");
    }
  }
  return body.error;
}
