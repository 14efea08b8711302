// Watching a job (docs/design.md "Watching a job"): WebSockets held by the job's shard with Durable Object
// WebSocket hibernation, so an idle watcher costs no duration: the object may be evicted while its
// sockets stay open, and is woken only by a message or a close.
//
// accept(jobId, protocol) → Response   101 with the socket, or 429 past the limits. Rows written: 0.
// notify() → void   after every change the shard makes (each request's and each alarm's end), each
//   watched job is read and sent to its watchers when it changed since they last saw it; a finished
//   job's watchers are then closed. Reads one job row (and its recent attempts) per watched job, and
//   nothing at all while no one watches. Rows written: 0.
//
// What a watcher last saw is a fingerprint of the job object in the socket's attachment (which survives
// hibernation), so a change is sent once, whichever request or alarm made it.
import type { JobView } from "../core/job";
import { isFinished } from "../core/state";
import { findJob, type ShardDb } from "./db";
import { viewJob } from "./sql/view";

/** Watchers of one job, and of one shard (all of its jobs): past these a watch is refused. */
export const WATCHERS_PER_JOB = 10;
export const WATCHERS_PER_SHARD = 200;

interface Attachment {
  jobId: string;
  seen: string;
}

/** FNV-1a of the job object's JSON: what a watcher last saw, small enough for an attachment. */
function fingerprint(json: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < json.length; i++) {
    h ^= json.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `${json.length}:${(h >>> 0).toString(36)}`;
}

export type WatchRefusal = "too_many_for_job" | "too_many_for_shard" | "not_found";

export class Watchers {
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly db: ShardDb,
  ) {}

  /** A watcher for `jobId`: the job object at once, then each change (notify) until it finishes. */
  accept(jobId: string, protocol: string | null): Response {
    const job = findJob(this.db, jobId);
    if (!job) return refusal(404, "not_found", "no such job");
    if (this.ctx.getWebSockets(jobId).length >= WATCHERS_PER_JOB)
      return refusal(429, "rate_limited", `at most ${WATCHERS_PER_JOB} watchers per job`);
    if (this.ctx.getWebSockets().length >= WATCHERS_PER_SHARD)
      return refusal(429, "rate_limited", `at most ${WATCHERS_PER_SHARD} watchers per shard of a user`);
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [jobId]);
    const view = viewJob(this.db, job);
    this.send(server, jobId, view);
    if (isFinished(view.status)) server.close(1000, "the job is finished");
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: protocol ? { "sec-websocket-protocol": protocol } : {},
    });
  }

  /** Sends every watched job that changed to its watchers; closes those of finished or removed jobs. */
  notify(): void {
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) return;
    const byJob = Map.groupBy(
      sockets,
      (ws) => (ws.deserializeAttachment() as Attachment | null)?.jobId ?? "",
    );
    for (const [jobId, watching] of byJob) {
      const job = jobId ? findJob(this.db, jobId) : undefined;
      if (!job) {
        for (const ws of watching) ws.close(1000, "the job was removed");
        continue;
      }
      const view = viewJob(this.db, job);
      for (const ws of watching) {
        this.send(ws, jobId, view);
        if (isFinished(view.status)) ws.close(1000, "the job is finished");
      }
    }
  }

  /** Sends the job object unless this watcher saw it as it is. */
  private send(ws: WebSocket, jobId: string, view: JobView): void {
    const json = JSON.stringify(view);
    const seen = fingerprint(json);
    if ((ws.deserializeAttachment() as Attachment | null)?.seen === seen) return;
    try {
      ws.send(json);
      ws.serializeAttachment({ jobId, seen } satisfies Attachment);
    } catch {
      // Closed meanwhile: the runtime drops it from getWebSockets.
    }
  }
}

function refusal(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}
