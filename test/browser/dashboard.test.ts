// The dashboard in a real browser, as a user with a mouse: Debian's Chromium (playwright-core) against
// `npm run dev`'s server (dashboard built by dev.mjs), signed in with a key made as the README's first
// step makes it. Each step is its own test, in order, sharing one page; screenshots go to
// test-artifacts/. Nothing reloads the page after sign-in: a marker set on `window` must survive.
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CreatedUser } from "../../tools/harness/api-types";
import { ApiClient } from "../../tools/harness/client";
import { ownDevFixture } from "../e2e/dev-fixture";
import { launchChromium, snap } from "./browser";

const SLOW_MS = 2_500;
const HOLD_MS = 8_000;

describe("the dashboard, in Chromium", () => {
  const fixture = ownDevFixture(
    "dashboard",
    {
      // /slow and /hold answer late, so a job is seen before it finishes and a pool is seen in use.
      // /fail answers 500, so a job without retries fails with an error to show.
      answer: (d) => ({
        status: d.route === "/fail" ? 500 : 200,
        afterMs: d.route === "/slow" ? SLOW_MS : d.route === "/hold" ? HOLD_MS : 0,
      }),
    },
    // Like the shared e2e server's: a busy machine applies the four index databases' migrations slowly.
    { dashboard: true, readyTimeoutMs: 300_000 },
  );
  let browser: Browser | undefined;
  let page: Page;
  let user: CreatedUser;
  let recurringId = "";

  const base = () => fixture.server().baseUrl;

  // Every step ends with no console error, no failed request and no answer of 400 or more, other than
  // the ones it says it expects (the favicon included: a 404 for it would show here).
  const problems: string[] = [];
  let expected: { status: number; path: string }[] = [];
  const isExpected = (status: number, url: string) =>
    expected.some((e) => e.status === status && new URL(url).pathname === e.path);
  /** Records what goes wrong in any page of a context. */
  function watchProblems(context: BrowserContext, width: string) {
    context.on("console", (msg) => {
      if (msg.type() !== "error") return;
      const at = msg.location().url;
      // Chromium logs each answer of 400 or more too; an expected one is not a problem.
      const status = Number(/status of (\d{3})/.exec(msg.text())?.[1]);
      if (at && status && isExpected(status, at)) return;
      problems.push(`${width} console: ${msg.text()} (${at})`);
    });
    context.on("requestfailed", (req) => {
      // A poll cut short by leaving its page is the browser's doing, not a failure.
      if (req.failure()?.errorText === "net::ERR_ABORTED") return;
      problems.push(`${width} failed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`);
    });
    context.on("response", (res) => {
      if (res.status() >= 400 && !isExpected(res.status(), res.url()))
        problems.push(`${width} ${res.status()}: ${res.request().method()} ${res.url()}`);
    });
  }
  afterEach(() => {
    const seen = problems.splice(0);
    expected = [];
    expect(seen).toEqual([]);
  });
  const statusOnPage = () => page.locator("h1 .status").textContent();
  /** Statuses the job page's heading shows, one read every 100 ms, until `last` or the timeout. */
  async function watchStatus(last: string, timeoutMs = 30_000): Promise<string[]> {
    const seen: string[] = [];
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const now = await statusOnPage().catch(() => null);
      if (now && seen.at(-1) !== now) seen.push(now);
      if (now === last) return seen;
      await page.waitForTimeout(100);
    }
    throw new Error(`status never became ${last}; saw ${seen.join(" → ")}`);
  }
  const notReloaded = () => page.evaluate(() => (window as { __noReload?: number }).__noReload === 1);

  async function submitJob(fields: {
    name: string;
    url?: string;
    resources?: string;
    cron?: string;
    zone?: string;
    flowKey?: string;
    concurrency?: string;
  }) {
    await page.getByRole("link", { name: "Submit" }).click();
    await page.getByLabel("Type").selectOption(fields.url ? "http" : "noop");
    await page.getByLabel("Name", { exact: true }).fill(fields.name);
    if (fields.url) {
      await page.getByLabel("URL", { exact: true }).fill(fields.url);
      await page.getByLabel("Method").selectOption("POST");
    }
    if (fields.cron) {
      await page.getByLabel("Cron", { exact: true }).check();
      await page.getByLabel("Cron (5 fields)").fill(fields.cron);
      await page.getByLabel("Time zone").fill(fields.zone ?? "UTC");
    }
    if (fields.resources) await page.getByLabel("Resources (pool:units, …)").fill(fields.resources);
    if (fields.flowKey) {
      await page.getByLabel("Flow-control key").fill(fields.flowKey);
      await page.getByLabel("Concurrency (at once)").fill(fields.concurrency ?? "1");
    }
  }
  /** The job page's value for a field of its list (dl.fields). */
  const fieldOnPage = (name: string) =>
    page.locator("dl.fields dt", { hasText: name }).locator("xpath=following-sibling::dd[1]");

  beforeAll(async () => {
    const api = new ApiClient(fixture.server().baseUrl);
    const created = await api.request<CreatedUser>("POST", "/v1/admin/users", {
      token: fixture.adminToken,
      body: { name: "browser" },
    });
    if (created.status !== 201) throw new Error(`creating the user: ${JSON.stringify(created.body)}`);
    user = created.body;
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    watchProblems(context, "desktop");
    page = await context.newPage();
    page.on("dialog", (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await browser?.close();
  });

  it("signs in with the API key", async () => {
    expected = [{ status: 401, path: "/v1/jobs" }];
    await page.goto(`${base()}/dashboard`);
    await page.getByLabel("API key or admin token").fill("sk_usr_wrong_key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That key or token was not accepted.").waitFor();

    await page.getByLabel("API key or admin token").fill(user.api_key);
    await page.getByRole("button", { name: "Sign in" }).click();
    // The landing page is the overview.
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/dashboard/overview");
    await page.evaluate(() => {
      (window as { __noReload?: number }).__noReload = 1;
    });
    await snap(page, "01-signed-in");
  });

  it("submits an http job and watches it go to succeeded without reloading", async () => {
    await submitJob({ name: "slow hook", url: fixture.target().url("/slow") });
    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/\/dashboard\/jobs\/job_/);
    await snap(page, "02-job-submitted");
    const seen = await watchStatus("succeeded");
    // It was seen unfinished first, so the change arrived on the open page, not in its first render.
    expect(seen[0], seen.join(" → ")).not.toBe("succeeded");
    expect(await notReloaded()).toBe(true);
    await page.locator(".timeline li[data-attempt='1'] .status", { hasText: "succeeded" }).waitFor();
    expect(await page.locator("pre.result").textContent()).toContain('"status": 200');
    await snap(page, "03-job-succeeded");

    // Deep link: the job's URL in a new tab asks for the key (it is kept per tab), then shows the job.
    const fresh = await page.context().newPage();
    await fresh.goto(page.url());
    await fresh.getByLabel("API key or admin token").fill(user.api_key);
    await fresh.getByRole("button", { name: "Sign in" }).click();
    await fresh.locator("h1", { hasText: "slow hook" }).waitFor();
    await fresh.close();
  });

  it("submits an http job with every field of the contract, its JSON checked as it is typed", async () => {
    await submitJob({ name: "every field", url: fixture.target().url("/") });
    await page.getByLabel("Headers (one Name: value a line)").fill("X-Token: abc\nX-Tenant: 7");
    const body = page.getByLabel("Request body (JSON)");
    await body.fill('{"order": 42,');
    await page.getByTestId("payload-problem").waitFor();
    expect(await body.getAttribute("aria-invalid")).toBe("true");
    await body.fill('{"order": 42}');
    await page.getByTestId("payload-ok").waitFor();
    await page.getByLabel("Max retries").fill("2");
    await page.getByLabel("Retry delay (seconds)").fill("5");
    await page.getByLabel("Retry policy").selectOption("transient");
    await page.getByLabel("Expires after (seconds late)").fill("600");
    await page.getByLabel("Callback URL").fill(fixture.target().url("/callback"));
    await page.getByLabel("Result location").fill("r2://browser-test/");
    await page.getByLabel("Labels (key:value, …)").fill("team:web, env:test");
    await snap(page, "02a-submit-every-field");
    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/\/dashboard\/jobs\/job_/);
    const id = decodeURIComponent(page.url().split("/").pop() ?? "");
    const api = new ApiClient(base());
    const job = await api.request<Record<string, unknown>>("GET", `/v1/jobs/${id}`, { token: user.api_key });
    expect(job.body).toMatchObject({
      payload: { method: "POST", headers: { "X-Token": "abc", "X-Tenant": "7" }, body: { order: 42 } },
      max_retries: 2,
      retry_delay_seconds: 5,
      retry_policy: "transient",
      expires_after_seconds: 600,
      callback_url: fixture.target().url("/callback"),
      result_location: "r2://browser-test/",
      labels: { team: "web", env: "test" },
    });
    await watchStatus("succeeded");
  });

  it("previews a cron's next five runs in its zone, as the server schedules it", async () => {
    await submitJob({ name: "every minute", cron: "* * * * *", zone: "Asia/Kolkata" });
    const preview = page.getByTestId("run-preview").locator("li");
    await expect.poll(() => preview.count()).toBe(5);
    const first = await preview.first().getAttribute("title");
    expect(await preview.first().textContent()).toContain("Asia/Kolkata");
    await snap(page, "04-cron-preview");
    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/\/dashboard\/jobs\/job_/);
    recurringId = decodeURIComponent(page.url().split("/").pop() ?? "");
    const api = new ApiClient(base());
    const job = await api.request<{ run_at: string }>("GET", `/v1/jobs/${recurringId}`, {
      token: user.api_key,
    });
    // The preview's first run is the shard's run_at, unless a minute boundary fell between the two.
    const gap = new Date(job.body.run_at).getTime() - new Date(first ?? "").getTime();
    expect([0, 60_000]).toContain(gap);
  });

  it("pauses and resumes the recurring job", async () => {
    expect(recurringId).toMatch(/^job_/);
    await page.getByRole("button", { name: "Pause" }).click();
    await watchStatus("paused", 10_000);
    await snap(page, "05-paused");
    await page.getByRole("button", { name: "Resume" }).click();
    await watchStatus("scheduled", 10_000);
    expect(await notReloaded()).toBe(true);
    await snap(page, "06-resumed");
  });

  it("edits the recurring job's priority and overlap", async () => {
    expect(await fieldOnPage("overlap").textContent()).toBe("skip");
    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByLabel("Priority (0–100)").fill("80");
    await page.getByLabel("Overlap").selectOption("buffer_one");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect.poll(() => fieldOnPage("priority").textContent(), { timeout: 10_000 }).toBe("80");
    expect(await fieldOnPage("overlap").textContent()).toBe("buffer_one");
    await snap(page, "07-edited");
  });

  it("cancels the recurring job", async () => {
    await page.getByRole("button", { name: "Cancel" }).click();
    await watchStatus("cancelled", 10_000);
    await expect.poll(() => page.getByRole("button", { name: "Pause" }).count()).toBe(0);
    await snap(page, "08-cancelled");
  });

  it("creates a pool and sees its use go up while a job holds it, then down", async () => {
    await page.getByRole("link", { name: "Pools" }).click();
    await page.getByLabel("Pool name").fill("partner-api");
    await page.getByLabel("Capacity").fill("2");
    await page.getByRole("button", { name: "Save pool" }).click();
    const inUse = page.locator("tr[data-pool='partner-api'] td[data-field='in_use']");
    await expect.poll(() => inUse.textContent()).toBe("0");

    await submitJob({ name: "holds a unit", url: fixture.target().url("/hold"), resources: "partner-api:1" });
    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/\/dashboard\/jobs\/job_/);
    await page.getByRole("link", { name: "Pools" }).click();
    await expect.poll(() => inUse.textContent(), { timeout: 15_000 }).toBe("1");
    await snap(page, "09-pool-in-use");
    await expect.poll(() => inUse.textContent(), { timeout: 20_000 }).toBe("0");
    expect(await notReloaded()).toBe(true);
    await snap(page, "10-pool-released");

    // Nothing unfinished names it now, so it can be deleted.
    await page.locator("tr[data-pool='partner-api']").getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => page.locator("tr[data-pool='partner-api']").count()).toBe(0);
  });

  it("submits a job with flow control and sees its key's use on the job page", async () => {
    await submitJob({
      name: "keyed hook",
      url: fixture.target().url("/hold"),
      flowKey: "customer-42",
      concurrency: "2",
    });
    await snap(page, "10a-submit-flow-control");
    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/\/dashboard\/jobs\/job_/);
    expect(await fieldOnPage("flow control").textContent()).toBe("key customer-42: at most 2 at once");
    const panel = page.locator("table.flow-key[data-flow-key='customer-42']");
    // The panel reads GET /v1/flow-control/customer-42: the attempt holds one of the key's slots while the
    // target holds the request, and gives it back when it ends.
    await expect
      .poll(() => panel.locator("td[data-field='running']").textContent(), { timeout: 15_000 })
      .toBe("1");
    await snap(page, "10b-flow-control-running");
    // The job page watches the job over its WebSocket instead of re-reading it: live, and no GET of
    // the job while it runs.
    await expect
      .poll(() => page.locator("h1 .live").getAttribute("data-live"), { timeout: 10_000 })
      .toBe("true");
    const jobId = new URL(page.url()).pathname.split("/").at(-1) ?? "";
    const reads: string[] = [];
    const onRequest = (req: { url(): string; method(): string }) => {
      if (req.method() === "GET" && new URL(req.url()).pathname === `/v1/jobs/${jobId}`)
        reads.push(req.url());
    };
    page.on("request", onRequest);
    await page.waitForTimeout(2_500);
    page.off("request", onRequest);
    expect(reads).toEqual([]);
    await watchStatus("succeeded", 30_000);
    // Finished: the server closed the watch.
    await expect
      .poll(() => page.locator("h1 .live").getAttribute("data-live"), { timeout: 10_000 })
      .toBe("false");
    await expect
      .poll(() => panel.locator("td[data-field='running']").textContent(), { timeout: 10_000 })
      .toBe("0");
    expect(Number(await panel.locator("td[data-field='started_last_period']").textContent())).toBe(0);
    expect(await notReloaded()).toBe(true);
  });

  it("submits a job that depends on another, sees it blocked, then done, and the link both ways", async () => {
    await submitJob({ name: "first step", url: fixture.target().url("/hold") });
    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL(/\/dashboard\/jobs\/job_/);
    const firstId = new URL(page.url()).pathname.split("/").at(-1) ?? "";
    // An http job (not noop: the listing step below counts the noop jobs).
    await submitJob({ name: "second step", url: fixture.target().url("/") });
    await page.getByLabel("Depends on").fill(firstId);
    await page.getByRole("button", { name: "Submit" }).click();
    await page.waitForURL((url) => !url.pathname.endsWith(firstId) && /\/jobs\/job_/.test(url.pathname));
    const dependency = page.locator(`li[data-dependency='${firstId}']`);
    // Blocked while the first job holds its request, and the page says so.
    await page.getByTestId("blocked").waitFor();
    expect(await page.getByTestId("blocked").textContent()).toBe("Blocked by 1 dependency");
    expect(await dependency.getAttribute("data-state")).toBe("waiting");
    expect(await statusOnPage()).toBe("scheduled");
    await snap(page, "10c-dependency-blocked");
    // The first job succeeds: the watched page shows the dependency done, then the job run.
    await expect.poll(() => dependency.getAttribute("data-state"), { timeout: 30_000 }).toBe("done");
    await watchStatus("succeeded", 30_000);
    expect(await page.getByTestId("blocked").count()).toBe(0);
    const secondId = new URL(page.url()).pathname.split("/").at(-1) ?? "";
    // Its dependency's link opens the first job's page, which lists the second as its dependent.
    await dependency.getByRole("link").click();
    await page.waitForURL((url) => url.pathname.endsWith(firstId));
    await page.locator(`li[data-dependent='${secondId}']`).waitFor();
    await snap(page, "10d-dependents");
    expect(await notReloaded()).toBe(true);
  });

  it("lists the jobs with their live statuses and filters them", async () => {
    await page.getByRole("link", { name: "Jobs", exact: true }).click();
    const row = (name: string) => page.locator("tr", { hasText: name });
    await expect
      .poll(() => row("slow hook").locator(".status").textContent(), { timeout: 15_000 })
      .toBe("succeeded");
    await expect
      .poll(() => row("every minute").locator(".status").textContent(), { timeout: 15_000 })
      .toBe("cancelled");
    // The status tabs carry counts from /v1/metrics (finished ones: over its last hour).
    const tab = (status: string) => page.locator(`li[data-tab='${status}'] a`);
    await expect.poll(() => tab("cancelled").locator(".count").textContent(), { timeout: 15_000 }).toBe("1");
    await tab("cancelled").click();
    await expect.poll(() => page.locator("table.jobs tbody tr").count()).toBe(1);
    expect(page.url()).toContain("status=cancelled");
    expect(await tab("cancelled").getAttribute("aria-current")).toBe("page");
    await snap(page, "11-jobs-filtered");

    // 25 more noop jobs, by the batch API: succeeded noop jobs fill two pages, of 20 and 5.
    const jobs = Array.from({ length: 25 }, (_, i) => ({ type: "noop", name: `bulk-${i}` }));
    const batch = await new ApiClient(base()).request("POST", "/v1/jobs/batch", {
      token: user.api_key,
      body: { jobs },
    });
    expect(batch.status).toBe(201);
    await tab("succeeded").click();
    await page.getByLabel("Type").selectOption("noop");
    await page.getByRole("button", { name: "Filter" }).click();
    const rows = page.locator("table.jobs tbody tr");
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(20);
    await page.getByRole("button", { name: "Next" }).click();
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(5);
    await snap(page, "12-jobs-page-2");
    await page.getByRole("button", { name: "Previous" }).click();
    await expect.poll(() => rows.count()).toBe(20);
    expect(await page.getByRole("button", { name: "Previous" }).isDisabled()).toBe(true);
  });

  it("filters the jobs by name prefix", async () => {
    await page.locator("li[data-tab='all'] a").click();
    await page.getByLabel("Type").selectOption("");
    await page.getByLabel("Search: job id or name prefix").fill("bulk-1");
    await page.getByRole("button", { name: "Filter" }).click();
    const rows = page.locator("table.jobs tbody tr");
    // bulk-1 and bulk-10 … bulk-19.
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(11);
    await snap(page, "13-jobs-by-name");
  });

  it("opens a job by its id from the search box", async () => {
    const id = await page.locator("table.jobs tbody tr").first().getAttribute("data-job-id");
    expect(id).toMatch(/^job_/);
    await page.getByLabel("Search: job id or name prefix").fill(id ?? "");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL((url) => url.pathname.endsWith(`/jobs/${id}`));
    await page.locator("h1", { hasText: /^bulk-1/ }).waitFor();
  });

  it("filters the jobs by when they were created (two date-times, quick picks)", async () => {
    await page.getByRole("link", { name: "Jobs", exact: true }).click();
    const rows = page.locator("table.jobs tbody tr");
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(20);
    // A job made after the whole second the range starts at (the inputs take seconds).
    const from = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    await page.waitForTimeout(from - Date.now() + 100);
    const fresh = await new ApiClient(base()).request<{ id: string }>("POST", "/v1/jobs", {
      token: user.api_key,
      body: { type: "noop", name: "fresh", run_at: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect(fresh.status).toBe(201);
    const freshRow = page.locator(`tr[data-job-id='${fresh.body.id}']`);
    // The instant as the page's datetime-local input writes it, in the browser's zone.
    const local = await page.evaluate((t) => {
      const d = new Date(t);
      const p = (n: number) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    }, from);
    await page.getByLabel("Created from").fill(local);
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(1);
    await freshRow.waitFor();
    expect(new URL(page.url()).searchParams.get("created_after")).toBe(new Date(from).toISOString());
    expect(await page.getByTestId("time-range").textContent()).toMatch(/^created \d{4}-\d\d-\d\d .* to now$/);
    await snap(page, "13e-jobs-created-range");

    // Before that instant instead: a full page, without the new job.
    await page.getByLabel("Created from").fill("");
    await page.getByLabel("Created before").fill(local);
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => page.url()).toContain("created_before=");
    expect(page.url()).not.toContain("created_after=");
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(20);
    expect(await freshRow.count()).toBe(0);

    // A quick pick: the last hour holds every job of this test, the new one first.
    await page.getByRole("button", { name: "Last hour" }).click();
    await expect.poll(() => page.url()).toContain("created_after=");
    expect(page.url()).not.toContain("created_before=");
    await expect
      .poll(() => rows.first().getAttribute("data-job-id"), { timeout: 15_000 })
      .toBe(fresh.body.id);
    expect(await page.getByLabel("Created from").inputValue()).not.toBe("");
    await page.getByRole("button", { name: "Any time" }).click();
    await expect.poll(() => page.getByTestId("time-range").count()).toBe(0);
    expect(page.url()).not.toContain("created_");
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(20);
  });

  it("cancels, then retries, jobs picked in the list, saying how many matched", async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const jobs = Array.from({ length: 3 }, (_, i) => ({ type: "noop", name: `later-${i}`, run_at: later }));
    const api = new ApiClient(base());
    expect(
      (await api.request("POST", "/v1/jobs/batch", { token: user.api_key, body: { jobs } })).status,
    ).toBe(201);
    await page.getByRole("link", { name: "Jobs", exact: true }).click();
    await page.getByLabel("Search: job id or name prefix").fill("later-");
    await page.getByRole("button", { name: "Filter" }).click();
    const rows = page.locator("table.jobs tbody tr");
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(3);
    await page.getByLabel("Select all on this page").check();
    expect(await page.getByTestId("bulk").textContent()).toContain("3 selected");
    await page.getByRole("button", { name: "Cancel selected" }).click();
    await expect
      .poll(() => page.getByTestId("bulk-result").textContent(), { timeout: 10_000 })
      .toBe("Cancelled 3 of 3 selected");
    await expect
      .poll(() => rows.locator(".status", { hasText: "cancelled" }).count(), { timeout: 10_000 })
      .toBe(3);
    await snap(page, "13a-jobs-bulk-cancelled");
    // Two of them back: a retried one-shot job is scheduled again (it runs at once).
    await rows.nth(0).getByRole("checkbox").check();
    await rows.nth(1).getByRole("checkbox").check();
    await page.getByRole("button", { name: "Retry selected" }).click();
    await expect
      .poll(() => page.getByTestId("bulk-result").textContent(), { timeout: 10_000 })
      .toBe("Retried 2 of 2 selected");
    await expect
      .poll(() => rows.locator(".status", { hasText: "cancelled" }).count(), { timeout: 15_000 })
      .toBe(1);
    // Every job the filter matches, on every page (the API's filter form): the one still cancelled.
    await page.getByRole("button", { name: "Retry all matching" }).click();
    await expect
      .poll(() => page.getByTestId("bulk-result").textContent(), { timeout: 10_000 })
      .toBe("Retried 1 matching name later-");
    await expect
      .poll(() => rows.locator(".status", { hasText: "cancelled" }).count(), { timeout: 15_000 })
      .toBe(0);
  });

  it("shows a failed job's error in the list, on its page (not an empty result) and on the overview", async () => {
    const api = new ApiClient(base());
    const failed = await api.request<{ id: string }>("POST", "/v1/jobs", {
      token: user.api_key,
      body: {
        type: "http",
        name: "failing hook",
        max_retries: 0,
        payload: { url: fixture.target().url("/fail") },
      },
    });
    expect(failed.status).toBe(201);
    await page.getByRole("link", { name: "Jobs", exact: true }).click();
    await page.locator("li[data-tab='failed'] a").click();
    const row = page.locator(`tr[data-job-id='${failed.body.id}']`);
    await expect.poll(() => row.locator(".status").textContent(), { timeout: 20_000 }).toBe("failed");
    await expect.poll(() => row.locator("td.last-error").textContent(), { timeout: 10_000 }).toContain("500");
    await snap(page, "13b-jobs-failed-with-error");

    await row.getByRole("link", { name: "failing hook" }).click();
    await page.getByTestId("no-result").waitFor();
    expect(await page.getByTestId("no-result").textContent()).toMatch(/^No result: the job failed: .*500/);
    expect(await fieldOnPage("occurrences finished").textContent()).toBe("1");
    expect(await fieldOnPage("attempts").textContent()).toBe("1");
    await snap(page, "13c-job-failed");

    await page.getByRole("link", { name: "Overview" }).click();
    const recent = page.locator(`table.recent-failures tr[data-job-id='${failed.body.id}']`);
    await expect
      .poll(() => recent.locator("td.last-error").textContent(), { timeout: 15_000 })
      .toContain("500");
    await expect
      .poll(async () => Number(await page.locator("[data-metric='attempts.total']").textContent()), {
        timeout: 15_000,
      })
      .toBeGreaterThanOrEqual(3);
    expect(Number(await page.locator("[data-metric='jobs.failed']").textContent())).toBeGreaterThanOrEqual(1);
    // Busiest keys (GET /v1/flow-control): a key with a rate of one an hour, one job begun and one held back.
    const keyed = Array.from({ length: 2 }, (_, i) => ({
      type: "noop",
      name: `keyed-${i}`,
      flow_control: { key: "browser-key", rate: 1, period_seconds: 3600 },
    }));
    expect(
      (await api.request("POST", "/v1/jobs/batch", { token: user.api_key, body: { jobs: keyed } })).status,
    ).toBe(201);
    const key = page.locator("table.busiest-keys tr[data-flow-key='browser-key'] td");
    await expect
      .poll(async () => (await key.allTextContents()).join(" "), { timeout: 20_000 })
      .toBe("browser-key 0 1 1");
    await snap(page, "13d-overview");
  });

  it("charts the last hour, 24 hours and 7 days from /v1/metrics", async () => {
    await page.getByRole("link", { name: "Metrics" }).click();
    await page.getByRole("heading", { name: "Attempts per minute by outcome" }).waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator(".chart canvas").count()).toBe(2);
    const points = () => page.locator(".chart").first().getAttribute("data-points");
    expect(await points()).toBe("60");
    // The range selector: hourly points over 7 days, then 24 hours, then back to the minutes.
    const range = (name: string) => page.getByRole("link", { name, exact: true });
    await range("Last 7 days").click();
    await page.getByRole("heading", { name: "Attempts per hour by outcome" }).waitFor({ timeout: 15_000 });
    await expect.poll(points).toBe("168");
    expect(await range("Last 7 days").getAttribute("aria-current")).toBe("page");
    expect(await page.getByTestId("chart-span").textContent()).toMatch(/one point per hour$/);
    await snap(page, "14c-metrics-7d");
    await range("Last 24 hours").click();
    await expect.poll(points, { timeout: 15_000 }).toBe("24");
    await range("Last hour").click();
    await page.getByRole("heading", { name: "Attempts per minute by outcome" }).waitFor({ timeout: 15_000 });
    await expect.poll(points).toBe("60");
    // The two http jobs ran an attempt each (the cron job too, if a minute began before its cancel).
    const attempts = page.locator("[data-metric='attempts.total']");
    await expect
      .poll(async () => Number(await attempts.textContent()), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(2);
    await snap(page, "14-metrics");

    // Dark: the page takes its colours from prefers-color-scheme, the charts theirs from the page's.
    await page.emulateMedia({ colorScheme: "dark" });
    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByRole("link", { name: "Metrics" }).click();
    await expect.poll(() => page.locator(".chart canvas").count()).toBe(2);
    const background = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(await background()).toBe("rgb(15, 19, 24)");
    await snap(page, "14b-metrics-dark");
    await page.emulateMedia({ colorScheme: "light" });
    expect(await background()).toBe("rgb(245, 246, 248)");
  });

  it("shows every view at 390 px wide without the page scrolling sideways, and its actions work there", async () => {
    if (!browser) throw new Error("no browser");
    // In dark colours, so both schemes are seen.
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      colorScheme: "dark",
    });
    watchProblems(context, "phone");
    const phone = await context.newPage();
    const fitsWidth = () =>
      phone.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
    try {
      await phone.goto(`${base()}/dashboard`);
      await phone.getByLabel("API key or admin token").fill(user.api_key);
      await phone.getByRole("button", { name: "Sign in" }).click();
      await phone.locator("table.recent-failures tbody tr").first().waitFor({ timeout: 15_000 });
      expect(await fitsWidth()).toBe(true);
      await snap(phone, "16-phone-overview");

      await phone.getByRole("link", { name: "Jobs", exact: true }).click();
      await phone.locator("table.jobs tbody tr").first().waitFor({ timeout: 15_000 });
      expect(await fitsWidth()).toBe(true);
      await snap(phone, "17-phone-jobs");

      await phone.locator("table.jobs tbody tr a").first().click();
      await phone.locator("dl.fields").waitFor();
      expect(await fitsWidth()).toBe(true);
      await snap(phone, "18-phone-job");

      await phone.getByRole("link", { name: "Submit" }).click();
      await phone.getByLabel("Name", { exact: true }).waitFor();
      expect(await fitsWidth()).toBe(true);
      await snap(phone, "19-phone-submit");

      await phone.getByRole("link", { name: "Pools" }).click();
      await phone.getByRole("heading", { name: "Pools" }).waitFor();
      expect(await fitsWidth()).toBe(true);

      await phone.getByRole("link", { name: "Metrics" }).click();
      await expect.poll(() => phone.locator(".chart canvas").count(), { timeout: 15_000 }).toBe(2);
      expect(await fitsWidth()).toBe(true);
      await snap(phone, "20-phone-metrics");

      // The actions too, at this width: submit a job and see it run, pick jobs and cancel them in
      // bulk, retry one from its page.
      phone.on("dialog", (dialog) => void dialog.accept());
      await phone.getByRole("link", { name: "Submit" }).click();
      await phone.getByLabel("Type").selectOption("noop");
      await phone.getByLabel("Name", { exact: true }).fill("phone job");
      await phone.getByRole("button", { name: "Submit" }).click();
      await phone.waitForURL(/\/dashboard\/jobs\/job_/);
      await expect
        .poll(() => phone.locator("h1 .status").textContent(), { timeout: 30_000 })
        .toBe("succeeded");
      expect(await fitsWidth()).toBe(true);
      const later = new Date(Date.now() + 3_600_000).toISOString();
      const held = Array.from({ length: 2 }, (_, i) => ({
        type: "noop",
        name: `phone-later-${i}`,
        run_at: later,
      }));
      const made = await new ApiClient(base()).request("POST", "/v1/jobs/batch", {
        token: user.api_key,
        body: { jobs: held },
      });
      expect(made.status).toBe(201);
      await phone.getByRole("link", { name: "Jobs", exact: true }).click();
      await phone.getByLabel("Search: job id or name prefix").fill("phone-later-");
      await phone.getByRole("button", { name: "Filter" }).click();
      const rows = phone.locator("table.jobs tbody tr");
      await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(2);
      await phone.getByLabel("Select all on this page").check();
      await phone.getByRole("button", { name: "Cancel selected" }).click();
      await expect
        .poll(() => phone.getByTestId("bulk-result").textContent(), { timeout: 10_000 })
        .toBe("Cancelled 2 of 2 selected");
      expect(await fitsWidth()).toBe(true);
      await snap(phone, "21-phone-bulk-cancelled");
      await rows.first().locator("a").first().click();
      await phone.locator("dl.fields").waitFor();
      await phone.getByRole("button", { name: "Retry" }).click();
      // Retried: due now, so it may already have run by the time the page shows it.
      await expect
        .poll(() => phone.locator("h1 .status").textContent(), { timeout: 10_000 })
        .toMatch(/^(scheduled|queued|running|succeeded)$/);
      expect(await fitsWidth()).toBe(true);
    } finally {
      await context.close();
    }
  });

  it("signs in as admin, lists users and issues a key", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key or admin token").fill(fixture.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    const row = page.locator("tr", { hasText: user.user_id });
    await row.waitFor({ timeout: 15_000 });
    await row.getByRole("button", { name: "Keys" }).click();
    await page.getByRole("button", { name: "Issue a key" }).click();
    const revealed = page.locator(".revealed pre");
    await expect.poll(() => revealed.textContent()).toContain("sk_usr_");
    await snap(page, "15-admin");
  });
});
