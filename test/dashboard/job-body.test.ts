import { describe, expect, it } from "vitest";
import type { Job } from "../../dashboard/src/api";
import {
  changedFields,
  emptyForm,
  formOfJob,
  type JobForm,
  jobIdsOf,
  jsonProblem,
  submitBody,
} from "../../dashboard/src/job-body";
import { job } from "./fixture";

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

  it("sends flow_control only with a key, leaving empty limits out", () => {
    expect(submitBody({ ...emptyForm(), flowConcurrency: "2" })).not.toHaveProperty("flow_control");
    expect(submitBody({ ...emptyForm(), flowKey: "  ", flowRate: "5" })).not.toHaveProperty("flow_control");
    const limited = (over: Partial<JobForm>) =>
      submitBody({ ...emptyForm(), flowKey: " customer-42 ", ...over }).flow_control;
    expect(limited({ flowConcurrency: "2" })).toEqual({ key: "customer-42", concurrency: 2 });
    expect(limited({ flowRate: "10", flowPeriodSeconds: "60" })).toEqual({
      key: "customer-42",
      rate: 10,
      period_seconds: 60,
    });
    expect(limited({ flowConcurrency: "2", flowRate: "5", flowPeriodSeconds: "" })).toEqual({
      key: "customer-42",
      concurrency: 2,
      rate: 5,
    });
    expect(() => limited({ flowRate: "fast" })).toThrow("flow-control rate must be a whole number");
  });

  it("sends overlap and catch_up for a recurring job only when not the default, the window only with all", () => {
    const recurring = { ...emptyForm(), schedule: "interval" as const, intervalSeconds: "60" };
    const plain = submitBody(recurring);
    for (const field of ["overlap", "catch_up", "catch_up_window_seconds"])
      expect(plain).not.toHaveProperty(field);
    expect(submitBody({ ...recurring, overlap: "buffer_one", catchUp: "one" })).toMatchObject({
      interval_seconds: 60,
      overlap: "buffer_one",
      catch_up: "one",
    });
    expect(submitBody({ ...recurring, catchUp: "one", catchUpWindowSeconds: "60" })).not.toHaveProperty(
      "catch_up_window_seconds",
    );
    expect(submitBody({ ...recurring, catchUp: "all" })).not.toHaveProperty("catch_up_window_seconds");
    expect(
      submitBody({
        ...recurring,
        schedule: "cron",
        overlap: "cancel_other",
        catchUp: "all",
        catchUpWindowSeconds: "600",
      }),
    ).toMatchObject({
      cron: "*/5 * * * *",
      overlap: "cancel_other",
      catch_up: "all",
      catch_up_window_seconds: 600,
    });
    expect(() => submitBody({ ...recurring, catchUp: "all", catchUpWindowSeconds: "" })).toThrow(
      "catch-up window must be a whole number",
    );
    // A one-shot job never sends them (the form hides them), whatever the form still holds.
    const once = submitBody({
      ...emptyForm(),
      overlap: "buffer_one",
      catchUp: "all",
      catchUpWindowSeconds: "60",
    });
    for (const field of ["overlap", "catch_up", "catch_up_window_seconds"])
      expect(once).not.toHaveProperty(field);
  });

  it("sends debounce for a one-shot job with a key, and never for a recurring one", () => {
    const debounced = { ...emptyForm(), debounceKey: " user-7 ", debounceDelaySeconds: "2" };
    expect(submitBody(debounced).debounce).toEqual({ key: "user-7", delay_seconds: 2 });
    expect(submitBody({ ...debounced, debounceMaxWaitSeconds: "30" }).debounce).toEqual({
      key: "user-7",
      delay_seconds: 2,
      max_wait_seconds: 30,
    });
    expect(submitBody({ ...emptyForm(), debounceDelaySeconds: "2" })).not.toHaveProperty("debounce");
    expect(submitBody({ ...debounced, schedule: "interval" })).not.toHaveProperty("debounce");
    expect(() => submitBody({ ...debounced, debounceDelaySeconds: "" })).toThrow(
      "debounce delay must be a whole number",
    );
  });

  it("sends depends_on only when ids are given, and on_dependency_failure only with them and not the default", () => {
    const plain = submitBody(emptyForm());
    expect(plain).not.toHaveProperty("depends_on");
    expect(plain).not.toHaveProperty("on_dependency_failure");
    // The policy alone, or with only separators for ids, sends nothing.
    expect(submitBody({ ...emptyForm(), dependsOn: " ,\n ", onDependencyFailure: "run" })).toEqual(plain);

    const waiting = { ...emptyForm(), dependsOn: "job_0_a, job_1_b\njob_0_c  job_0_a," };
    expect(submitBody(waiting)).toEqual({ ...plain, depends_on: ["job_0_a", "job_1_b", "job_0_c"] });
    expect(submitBody({ ...waiting, onDependencyFailure: "fail" })).not.toHaveProperty(
      "on_dependency_failure",
    );
    expect(submitBody({ ...waiting, onDependencyFailure: "run" })).toMatchObject({
      depends_on: ["job_0_a", "job_1_b", "job_0_c"],
      on_dependency_failure: "run",
    });
    // Any schedule may wait on other jobs.
    expect(submitBody({ ...waiting, schedule: "interval", intervalSeconds: "60" }).depends_on).toHaveLength(
      3,
    );
  });

  it("refuses more than 100 job ids to depend on, before anything is sent", () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `job_0_${i}`);
    expect(submitBody({ ...emptyForm(), dependsOn: ids(100).join(",") }).depends_on).toHaveLength(100);
    expect(() => submitBody({ ...emptyForm(), dependsOn: ids(101).join(" ") })).toThrow(
      "depends on: at most 100 job ids (101 given)",
    );
  });
});

describe("jobIdsOf", () => {
  it("splits on commas and any whitespace, keeps the order, and names a repeated id once", () => {
    expect(jobIdsOf("")).toEqual([]);
    expect(jobIdsOf("  , ,\t")).toEqual([]);
    expect(jobIdsOf("job_a")).toEqual(["job_a"]);
    expect(jobIdsOf(" job_b,job_a\tjob_c ,, job_b ")).toEqual(["job_b", "job_a", "job_c"]);
  });
});

describe("formOfJob", () => {
  it("fills the flow control, overlap, catch-up and debounce fields from the job", () => {
    const form = formOfJob(
      job({
        flow_control: { key: "customer-42", concurrency: 2, rate: null, period_seconds: 1 },
        overlap: "cancel_other",
        catch_up: "all",
        catch_up_window_seconds: 600,
      }),
    );
    expect(form).toMatchObject({
      flowKey: "customer-42",
      flowConcurrency: "2",
      flowRate: "",
      flowPeriodSeconds: "1",
      overlap: "cancel_other",
      catchUp: "all",
      catchUpWindowSeconds: "600",
      debounceKey: "",
    });
    // And back: the same body the job was made with (the period is the server's default, 1).
    expect(submitBody(form)).toMatchObject({
      flow_control: { key: "customer-42", concurrency: 2, period_seconds: 1 },
      overlap: "cancel_other",
      catch_up: "all",
      catch_up_window_seconds: 600,
    });

    const oneShot = formOfJob(
      job({
        cron: null,
        timezone: null,
        debounce: { key: "user-7", delay_seconds: 2, max_wait_seconds: 30 },
      }),
    );
    expect(oneShot).toMatchObject({
      schedule: "once",
      flowKey: "",
      overlap: "skip",
      catchUp: "none",
      catchUpWindowSeconds: "3600",
      debounceKey: "user-7",
      debounceDelaySeconds: "2",
      debounceMaxWaitSeconds: "30",
    });
    expect(submitBody(oneShot).debounce).toEqual({ key: "user-7", delay_seconds: 2, max_wait_seconds: 30 });
  });

  it("fills the dependency fields from the job, and back to the same body", () => {
    const form = formOfJob(job({ depends_on: ["job_0_a", "job_1_b"], on_dependency_failure: "run" }));
    expect(form).toMatchObject({ dependsOn: "job_0_a, job_1_b", onDependencyFailure: "run" });
    expect(submitBody(form)).toMatchObject({
      depends_on: ["job_0_a", "job_1_b"],
      on_dependency_failure: "run",
    });
    expect(formOfJob(job({}))).toMatchObject({ dependsOn: "", onDependencyFailure: "fail" });
  });

  it("reads a job without the dependency fields (before they land) as no dependencies", () => {
    const { depends_on: _d, on_dependency_failure: _o, blocked_by: _b, ...without } = job({});
    expect(formOfJob(without as Job)).toMatchObject({ dependsOn: "", onDependencyFailure: "fail" });
    expect(submitBody(formOfJob(without as Job))).not.toHaveProperty("depends_on");
  });

  it("reads a job without the debounce field (before it lands) as no debounce", () => {
    const { debounce: _, ...without } = job({ cron: null, timezone: null });
    expect(formOfJob(without as Job).debounceKey).toBe("");
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

  it("sends flow_control when set or changed, and null when the key is cleared", () => {
    const flow = { key: "customer-42", concurrency: 2, rate: 5, period_seconds: 1 };
    const none = formOfJob(job({}));
    expect(changedFields(submitBody(none), submitBody({ ...none, flowKey: "k", flowRate: "3" }))).toEqual({
      flow_control: { key: "k", rate: 3 },
    });
    const form = formOfJob(job({ flow_control: flow }));
    const before = submitBody(form);
    expect(changedFields(before, submitBody(form))).toEqual({});
    expect(changedFields(before, submitBody({ ...form, flowConcurrency: "4" }))).toEqual({
      flow_control: { key: "customer-42", concurrency: 4, rate: 5, period_seconds: 1 },
    });
    expect(changedFields(before, submitBody({ ...form, flowKey: "" }))).toEqual({ flow_control: null });
  });

  it("sends overlap and catch_up when changed, back to their defaults included", () => {
    const form = formOfJob(job({ overlap: "buffer_one", catch_up: "all", catch_up_window_seconds: 600 }));
    const before = submitBody(form);
    expect(changedFields(before, submitBody(form))).toEqual({});
    expect(changedFields(before, submitBody({ ...form, overlap: "cancel_other" }))).toEqual({
      overlap: "cancel_other",
    });
    expect(changedFields(before, submitBody({ ...form, catchUpWindowSeconds: "900" }))).toEqual({
      catch_up_window_seconds: 900,
    });
    expect(changedFields(before, submitBody({ ...form, overlap: "skip", catchUp: "none" }))).toEqual({
      overlap: "skip",
      catch_up: "none",
      catch_up_window_seconds: 3600,
    });
    const plain = formOfJob(job({}));
    expect(changedFields(submitBody(plain), submitBody({ ...plain, catchUp: "one" }))).toEqual({
      catch_up: "one",
    });
    // Made one-shot, a job must have the defaults again (the server refuses others on a one-shot job).
    expect(changedFields(before, submitBody({ ...form, schedule: "once" }))).toEqual({
      cron: null,
      timezone: null,
      overlap: "skip",
      catch_up: "none",
      catch_up_window_seconds: 3600,
    });
  });

  it("never sends debounce, which PATCH does not take", () => {
    const form = formOfJob(
      job({
        cron: null,
        timezone: null,
        debounce: { key: "user-7", delay_seconds: 2, max_wait_seconds: null },
      }),
    );
    const before = submitBody(form);
    expect(before.debounce).toEqual({ key: "user-7", delay_seconds: 2 });
    expect(changedFields(before, submitBody({ ...form, debounceDelaySeconds: "9" }))).toEqual({});
    expect(changedFields(before, submitBody({ ...form, debounceKey: "" }))).toEqual({});
  });

  it("never sends depends_on or on_dependency_failure, which PATCH does not take", () => {
    const form = formOfJob(job({ depends_on: ["job_0_a"], on_dependency_failure: "run" }));
    const before = submitBody(form);
    expect(before).toMatchObject({ depends_on: ["job_0_a"], on_dependency_failure: "run" });
    expect(
      changedFields(
        before,
        submitBody({ ...form, dependsOn: "job_0_a job_0_b", onDependencyFailure: "fail" }),
      ),
    ).toEqual({});
    expect(changedFields(before, submitBody({ ...form, dependsOn: "" }))).toEqual({});
    // Other changes still go, without them.
    expect(changedFields(before, submitBody({ ...form, priority: "70" }))).toEqual({ priority: 70 });
  });
});

describe("the delivery fields and the payload editor", () => {
  it("sends headers, callback, retry delay and policy, expiry and result location, defaults left out", () => {
    const body = submitBody({
      ...emptyForm(),
      type: "http",
      url: "https://example.test/hook",
      headers: "Authorization: Bearer t\n\n X-Trace : a:b ",
      retryDelaySeconds: "5",
      retryPolicy: "transient",
      expiresAfterSeconds: "600",
      callbackUrl: " https://example.test/done ",
      resultLocation: "r2://results/",
    });
    expect(body).toMatchObject({
      payload: {
        url: "https://example.test/hook",
        method: "POST",
        headers: { Authorization: "Bearer t", "X-Trace": "a:b" },
      },
      retry_delay_seconds: 5,
      retry_policy: "transient",
      expires_after_seconds: 600,
      callback_url: "https://example.test/done",
      result_location: "r2://results/",
    });
    const plain = submitBody(emptyForm());
    for (const key of [
      "retry_delay_seconds",
      "retry_policy",
      "expires_after_seconds",
      "callback_url",
      "result_location",
    ])
      expect(plain).not.toHaveProperty(key);
    expect(() => submitBody({ ...emptyForm(), type: "http", headers: "no colon" })).toThrow(
      'headers: "no colon" is not Name: value',
    );
  });

  it("fills the editor from a job and sends a change or a clearing, never the result location", () => {
    const before = job({
      type: "http",
      payload: { url: "https://example.test/", method: "POST", headers: { A: "1" } },
      retry_delay_seconds: 5,
      callback_url: "https://example.test/cb",
      expires_after_seconds: 60,
      result_location: "r2://r/",
    });
    const form = formOfJob(before);
    expect(form).toMatchObject({
      headers: "A: 1",
      retryDelaySeconds: "5",
      callbackUrl: "https://example.test/cb",
      expiresAfterSeconds: "60",
      resultLocation: "r2://r/",
    });
    const change = changedFields(
      submitBody(form),
      submitBody({
        ...form,
        retryDelaySeconds: "30",
        callbackUrl: "",
        expiresAfterSeconds: "",
        resultLocation: "",
      }),
    );
    expect(change).toEqual({ retry_delay_seconds: 30, callback_url: null, expires_after_seconds: null });
  });

  it("says what is wrong with the payload's JSON as one types", () => {
    expect(jsonProblem("")).toBeNull();
    expect(jsonProblem('{"a": [1, 2]}')).toBeNull();
    expect(jsonProblem('{"a": ')).toMatch(/JSON|Unexpected/);
  });
});
