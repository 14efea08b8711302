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
      answer: (d) => ({
        status: 200,
        afterMs: d.route === "/slow" ? SLOW_MS : d.route === "/hold" ? HOLD_MS : 0,
      }),
    },
    { dashboard: true },
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
    await page.getByLabel("Name").fill(fields.name);
    if (fields.url) {
      await page.getByLabel("URL").fill(fields.url);
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
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/dashboard/jobs");
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
    await page.getByLabel("Status").selectOption("cancelled");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => page.locator("table.jobs tbody tr").count()).toBe(1);
    expect(page.url()).toContain("status=cancelled");
    await snap(page, "11-jobs-filtered");

    // 25 more noop jobs, by the batch API: succeeded noop jobs fill two pages, of 20 and 5.
    const jobs = Array.from({ length: 25 }, (_, i) => ({ type: "noop", name: `bulk-${i}` }));
    const batch = await new ApiClient(base()).request("POST", "/v1/jobs/batch", {
      token: user.api_key,
      body: { jobs },
    });
    expect(batch.status).toBe(201);
    await page.getByLabel("Status").selectOption("succeeded");
    await page.getByLabel("Type").fill("noop");
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
    await page.getByLabel("Status").selectOption("");
    await page.getByLabel("Type").fill("");
    await page.getByLabel("Name starts with").fill("bulk-1");
    await page.getByRole("button", { name: "Filter" }).click();
    const rows = page.locator("table.jobs tbody tr");
    // bulk-1 and bulk-10 … bulk-19.
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(11);
    await snap(page, "13-jobs-by-name");
  });

  it("charts the last hour from /v1/metrics", async () => {
    await page.getByRole("link", { name: "Metrics" }).click();
    await page.getByRole("heading", { name: "Attempts per minute by outcome" }).waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator(".chart canvas").count()).toBe(2);
    // The two http jobs ran an attempt each (the cron job too, if a minute began before its cancel).
    const attempts = page.locator("[data-metric='attempts.total']");
    await expect
      .poll(async () => Number(await attempts.textContent()), { timeout: 15_000 })
      .toBeGreaterThanOrEqual(2);
    await snap(page, "14-metrics");
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
