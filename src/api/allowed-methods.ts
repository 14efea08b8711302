// 405 for a known path asked with a method it does not serve, with `Allow` listing those it does
// (RFC 9110 §15.5.6): `PUT /v1/jobs` is a wrong method, not a missing route. Read from the app's own
// route table once, so a new route is covered without a list of its own.
import type { Hono } from "hono";

interface RoutePattern {
  method: string;
  regex: RegExp;
}

/** A Hono path (`/v1/jobs/:id/run`, a trailing `*`) as a regex over request paths. */
function patternOf(path: string): RegExp {
  const body = path
    .split("/")
    .map((part) =>
      part.startsWith(":") ? "[^/]+" : part === "*" ? ".*" : part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"),
    )
    .join("/");
  return new RegExp(`^${body}/?$`);
}

/**
 * allowedMethods(app) → (path) → the methods the app serves at `path`, sorted (HEAD with GET), or []
 * when no route has that path. Middleware (method ALL) serves nothing by itself and is left out.
 */
export function allowedMethods(app: Pick<Hono, "routes">): (path: string) => string[] {
  let patterns: RoutePattern[] | undefined;
  return (path) => {
    patterns ??= app.routes
      .filter((r) => r.method !== "ALL" && !r.path.endsWith("*"))
      .map((r) => ({ method: r.method, regex: patternOf(r.path) }));
    const methods = new Set(patterns.filter((p) => p.regex.test(path)).map((p) => p.method));
    if (methods.has("GET")) methods.add("HEAD");
    return [...methods].sort();
  };
}
