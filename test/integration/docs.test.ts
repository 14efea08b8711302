// GET /docs: the interactive reference loads only from this origin (CI's browsers and many deployments
// reach nothing else), and what it loads is really served.
import { describe, expect, it } from "vitest";
import { request } from "../support/helpers";

/** Every URL the page loads: script sources and stylesheet links. */
function loadedUrls(html: string): string[] {
  return [
    ...[...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1] as string),
    ...[...html.matchAll(/<link\b[^>]*\bhref="([^"]+)"/g)].map((m) => m[1] as string),
  ];
}

describe("GET /docs", () => {
  it("serves Swagger UI over the OpenAPI document, loading nothing from another origin", async () => {
    const res = await request("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain("SwaggerUIBundle(");
    expect(html).toContain("url: '/v1/openapi.json'");
    expect(html, "no badge from the online validator").toContain("validatorUrl: 'none'");
    const urls = loadedUrls(html);
    expect(urls.length).toBe(2);
    for (const url of urls) expect(url, "same origin").toMatch(/^\/docs\//);
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
  });

  it("serves the script and style the page names", async () => {
    const urls = loadedUrls(await (await request("/docs")).text());
    const [script, style] = [urls.find((u) => u.endsWith(".js")), urls.find((u) => u.endsWith(".css"))];
    if (!script || !style) throw new Error(`the page names ${urls.join(", ")}`);
    const js = await request(script);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("javascript");
    const code = await js.text();
    expect(code.length).toBeGreaterThan(500_000);
    expect(code).toContain("SwaggerUIBundle");
    const css = await request(style);
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toContain("text/css");
    expect((await css.text()).length).toBeGreaterThan(50_000);
  });

  it("answers the contract's 404 for an asset it does not have", async () => {
    const res = await request("/docs/vendor/swagger-ui-dist/nothing.js");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "not_found" } });
  });
});
