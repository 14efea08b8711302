// watchJob: the job object live over GET /v1/jobs/:id/watch, in Node 22 and browsers alike (both have a
// global WebSocket). The key travels as the subprotocol `bearer.<key>`: a browser's WebSocket cannot
// set headers, and the server takes the key there as it takes the Authorization header.
import type { Job } from "./types.js";
import { FINISHED_STATUSES } from "./types.js";

export interface WatchOptions {
  /** Called with the job at once and on each change. */
  onJob: (job: Job) => void;
  /** A WebSocket implementation other than the global one. */
  WebSocket?: typeof globalThis.WebSocket;
}

export interface JobWatch {
  /** Resolves with the finished job as soon as it arrives (the server then closes the socket). */
  readonly done: Promise<Job | null>;
  close(): void;
}

/** The ws:// or wss:// address of a job's watch under `baseUrl`. */
export function watchUrl(baseUrl: string, id: string): string {
  const url = new URL(
    `v1/jobs/${encodeURIComponent(id)}/watch`,
    baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`,
  );
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

export function watchJob(baseUrl: string, token: string, id: string, options: WatchOptions): JobWatch {
  const Socket = options.WebSocket ?? globalThis.WebSocket;
  const socket = new Socket(watchUrl(baseUrl, id), [`bearer.${token}`]);
  let last: Job | null = null;
  const done = new Promise<Job | null>((resolve, reject) => {
    socket.addEventListener("message", (event: MessageEvent) => {
      last = JSON.parse(String(event.data)) as Job;
      options.onJob(last);
      // The last message a watch sends: done now, not when the connection is torn down (a runtime may
      // take seconds to end it after the close frame, as workerd does locally).
      if (FINISHED_STATUSES.includes(last.status)) {
        resolve(last);
        socket.close(1000, "finished");
      }
    });
    // A refused upgrade (401, 404 or 429) or a broken connection: Node's WebSocket reports it as an
    // error and may never fire close.
    socket.addEventListener("error", () => {
      reject(new Error(`the watch of ${id} failed: refused (401, 404 or 429) or the connection broke`));
    });
    socket.addEventListener("close", (event: CloseEvent) => {
      // The server closes with 1000 once the job is finished; anything else before that is a failure.
      if (last !== null && FINISHED_STATUSES.includes(last.status)) resolve(last);
      else if (event.code === 1000) resolve(last);
      else
        reject(
          new Error(`the watch of ${id} closed with ${event.code}${event.reason ? `: ${event.reason}` : ""}`),
        );
    });
  });
  return { done, close: () => socket.close(1000, "done") };
}
