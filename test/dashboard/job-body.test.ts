import { describe, expect, it } from "vitest";
import type { Job } from "../../dashboard/src/api";
import { changedFields, emptyForm, formOfJob, submitBody } from "../../dashboard/src/job-body";

const job = (over: Partial<Job>): Job => ({
  id: "job_0_x",
  user_id: "usr_x",
  name: "nightly",
  type: "noop",
  status: "scheduled",
  priority: 50,
  payload: null,
  run_at: "2026-11-30T09:00:00.000Z",
  next_run_at: "2026-11-30T09:00:00.000Z",
  interval_seconds: null,
  cron: "0 9 * * *",
  timezone: "Europe/London",
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
  labels: { team: "ops" },
  callback_url: null,
  retry_policy: "all",
  expires_after_seconds: null,
  overlap: "skip",
  catch_up: "none",
  catch_up_window_seconds: 3600,
  traceparent: null,
  tracestate: null,
  created_at: "2026-11-29T00:00:00.000Z",
  updated_at: "2026-11-29T00:00:00.000Z",
  attempts: [],
  ...over,
});

describe("submitBody", () => {
  it("sends an http job's url, method and JSON body, its schedule, resources and labels", () => {
    const body = submitBody({
      ...emptyForm(),
      type: "http",
      name: " hook ",
      url: "https://example.test/hook",
      method: "PUT",
      payload: '{"a":1}',
      schedule: "cron",
      cron: "*/5 9-17 * * 1-5",
      timezone: "Europe/London",
      resources: "partner-api:2",
      labels: "team:ops, env:prod",
    });
    expect(body).toEqual({
      type: "http",
      name: "hook",
      payload: { url: "https://example.test/hook", method: "PUT", body: { a: 1 } },
      cron: "*/5 9-17 * * 1-5",
      timezone: "Europe/London",
      priority: 50,
      max_retries: 3,
      timeout_seconds: 60,
      resources: { "partner-api": 2 },
      labels: { team: "ops", env: "prod" },
    });
  });

  it("refuses what cannot be sent, naming the field", () => {
    expect(() => submitBody({ ...emptyForm(), payload: "{not json" })).toThrow("payload is not valid JSON");
    expect(() => submitBody({ ...emptyForm(), labels: "team" })).toThrow('labels: "team" is not key:value');
    expect(() => submitBody({ ...emptyForm(), resources: "pool:1.5" })).toThrow("whole number");
    expect(() => submitBody({ ...emptyForm(), priority: "" })).toThrow("priority must be a whole number");
  });
});

describe("changedFields", () => {
  it("sends only what the editor changed", () => {
    const form = formOfJob(job({}));
    const before = submitBody(form);
    expect(changedFields(before, submitBody({ ...form, priority: "80" }))).toEqual({ priority: 80 });
    expect(changedFields(before, submitBody(form))).toEqual({});
  });

  it("clears the cron when the schedule becomes an interval, and labels when they are emptied", () => {
    const form = formOfJob(job({}));
    const change = changedFields(
      submitBody(form),
      submitBody({ ...form, schedule: "interval", intervalSeconds: "300", labels: "" }),
    );
    expect(change).toEqual({ interval_seconds: 300, cron: null, timezone: null, labels: {} });
  });
});
