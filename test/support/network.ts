// A stand-in for the network in integration tests: globalThis.fetch spied on (restore it with
// vi.restoreAllMocks), every request the Worker sends recorded, each URL answered with its statuses.
import { vi } from "vitest";

export interface Received {
  url: string;
  method: string;
  /** By lower-case name, as Headers gives them. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Records every request and answers each URL with the next of its statuses (the last one repeats;
 * 200 for a URL not named).
 */
export function network(statuses: Record<string, number[]> = {}) {
  const received: Received[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = String(input);
    received.push({
      url,
      method: init?.method ?? "GET",
      headers: Object.fromEntries(new Headers(init?.headers)),
      body: String(init?.body ?? ""),
    });
    const queue = statuses[url] ?? [200];
    const status = queue.length > 1 ? (queue.shift() as number) : (queue[0] ?? 200);
    return new Response(status === 200 ? "ok" : "nope", { status });
  });
  return { received, to: (url: string) => received.filter((r) => r.url === url) };
}
