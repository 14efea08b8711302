// /dashboard is served from the ASSETS binding with a fallback to index.html for app routes (deep
// links); /v1/* is untouched by the assets.
import { describe, expect, it } from "vitest";
import { serveDashboard } from "../../src/api/dashboard";
import { env, request } from "../support/helpers";

/** An asset server holding these files (path → body); anything else is 404. */
function fakeAssets(files: Record<string, string>): Fetcher & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    fetch: async (input: RequestInfo | URL) => {
      const path = new URL(input instanceof Request ? input.url : String(input)).pathname;
      asked.push(path);
      const body = files[path];
      return body === undefined ? new Response("nope", { status: 404 }) : new Response(body);
    },
    connect: () => {
      throw new Error("not used");
    },
  } as unknown as Fetcher & { asked: string[] };
}

const files = { "/dashboard/": "<html>app</html>", "/dashboard/assets/app.js": "js" };

describe("serveDashboard", () => {
  it("serves a file that exists as it is", async () => {
    const res = await serveDashboard(new Request("http://x/dashboard/assets/app.js"), fakeAssets(files));
    expect(await res.text()).toBe("js");
  });

  it("answers a deep link to an app route with index.html", async () => {
    const assets = fakeAssets(files);
    const res = await serveDashboard(new Request("http://x/dashboard/jobs/job_0_abc"), assets);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("<html>app</html>");
    expect(assets.asked).toEqual(["/dashboard/jobs/job_0_abc", "/dashboard/"]);
  });

  it("keeps a missing file a 404 instead of answering it with html", async () => {
    const res = await serveDashboard(new Request("http://x/dashboard/assets/gone.js"), fakeAssets(files));
    expect(res.status).toBe(404);
  });
});

describe("the Worker with assets configured", () => {
  it("has the ASSETS binding and still answers /v1 from the API", async () => {
    expect(env.ASSETS).toBeDefined();
    const health = await request("/v1/health");
    expect(await health.json()).toEqual({ ok: true });
    const unknown = await request("/v1/nothing-here");
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: "not_found" } });
  });

  it("routes /dashboard to the asset server, not to the API's 404", async () => {
    const res = await request("/dashboard/jobs/job_0_abc");
    // Whether or not the files are built here, the answer comes from the asset server, not the API.
    expect(res.headers.get("content-type") ?? "").not.toContain("application/json");
    await res.arrayBuffer();
    const bare = await request("/dashboard");
    expect(bare.headers.get("content-type") ?? "").not.toContain("application/json");
    await bare.arrayBuffer();
  });

  it("answers 404, not an error, from a Worker deployed without the assets", async () => {
    const res = await request("/dashboard/", {}, { ...env, ASSETS: undefined } as typeof env);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("not deployed");
  });
});
