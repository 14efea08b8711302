// Client-side routes under /dashboard/ with the History API, so every page has a real URL (the Worker
// answers deep links with index.html). A signal holds the path; links push onto history.
import { signal } from "@preact/signals";
import type { ComponentChildren } from "preact";

export const BASE = "/dashboard";
const here = () => location.pathname.replace(/^\/dashboard\/?/, "/") + location.search;

/** The app path (after /dashboard) with its query, e.g. "/jobs/job_0_x" or "/jobs?status=failed". */
export const route = signal(here());
addEventListener("popstate", () => {
  route.value = here();
});

export function navigate(to: string, replace = false): void {
  const url = BASE + to;
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  route.value = here();
}

export function Link(props: {
  to: string;
  children: ComponentChildren;
  class?: string;
  title?: string;
  /** Marks the link as the page (or tab) shown now. */
  current?: boolean;
}) {
  return (
    <a
      href={BASE + props.to}
      class={props.class}
      title={props.title}
      aria-current={props.current ? "page" : undefined}
      onClick={(e) => {
        // Let the browser handle new-tab clicks itself.
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}

/** Matches "/jobs/:id" against a path; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/");
  const got = path.split("?")[0]?.split("/") ?? [];
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const actual = got[i] ?? "";
    if (part.startsWith(":")) params[part.slice(1)] = decodeURIComponent(actual);
    else if (part !== actual) return null;
  }
  return params;
}
