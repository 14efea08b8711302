// The offered load: jobs due at once, submitted through POST /v1/jobs/batch at a fixed rate per step,
// spread evenly over the users, one request per user per tick. Open loop: a tick's requests go out on
// time whether or not earlier ones have answered, up to `maxInFlight`; beyond that the tick's jobs are
// counted as not offered (the client, not the server, fell behind), so the report says so.
import type { ApiClient } from "../../harness/client";
import { distribution } from "../../harness/stats";
import { sleep } from "../../harness/util";

export interface LoadUser {
  userId: string;
  token: string;
}

export interface StepCounts {
  /** Jobs the schedule called for. */
  offered: number;
  /** Jobs answered 201. */
  created: number;
  /** Jobs not sent because `maxInFlight` requests were already waiting. */
  notSent: number;
  /** Items answered 429 (the shard's cap) and requests that failed outright. */
  refusedItems: number;
  failedRequests: number;
  requestMs: number[];
}

export interface LoadOptions {
  users: LoadUser[];
  /** One job in `1 / httpShare` calls the webhook target; the rest are noop. */
  httpShare: number;
  httpUrl: string;
  tickMs: number;
  maxInFlight: number;
}

interface ItemResult {
  status: number;
}

const MAX_BATCH = 1000;

export class OfferedLoad {
  private readonly inFlight = new Set<Promise<void>>();
  private sequence = 0;
  private nextUser = 0;

  constructor(
    private readonly api: ApiClient,
    private readonly o: LoadOptions,
  ) {}

  /** Offers `ratePerS` jobs a second until `until` (epoch ms); resolves at `until` with the counts. */
  async step(ratePerS: number, until: number): Promise<StepCounts> {
    const counts: StepCounts = {
      offered: 0,
      created: 0,
      notSent: 0,
      refusedItems: 0,
      failedRequests: 0,
      requestMs: [],
    };
    const start = Date.now();
    let owed = 0;
    for (let tick = 1; start + tick * this.o.tickMs <= until; tick++) {
      owed += (ratePerS * this.o.tickMs) / 1000;
      const jobs = Math.floor(owed);
      owed -= jobs;
      counts.offered += jobs;
      this.offer(jobs, counts);
      await sleep(start + tick * this.o.tickMs - Date.now());
    }
    await sleep(until - Date.now());
    return counts;
  }

  /** Waits (bounded) for the requests still out. */
  async settle(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.inFlight]), sleep(timeoutMs)]);
  }

  /** `jobs` split over the users, in turn, so every user gets the same share over a step. */
  private offer(jobs: number, counts: StepCounts): void {
    const users = this.o.users.length;
    const base = Math.floor(jobs / users);
    const extra = jobs % users;
    for (let i = 0; i < users; i++) {
      const user = this.o.users[(this.nextUser + i) % users];
      const n = base + (i < extra ? 1 : 0);
      if (!user || n === 0) continue;
      for (let sent = 0; sent < n; sent += MAX_BATCH) this.send(user, Math.min(MAX_BATCH, n - sent), counts);
    }
    this.nextUser = (this.nextUser + extra) % users;
  }

  private send(user: LoadUser, n: number, counts: StepCounts): void {
    if (this.inFlight.size >= this.o.maxInFlight) {
      counts.notSent += n;
      return;
    }
    const jobs = Array.from({ length: n }, () => this.job());
    const request = this.api
      .request<{ results?: ItemResult[] }>("POST", "/v1/jobs/batch", { token: user.token, body: { jobs } })
      .then(
        (reply) => {
          counts.requestMs.push(reply.ms);
          if (reply.status !== 201 && reply.status !== 200) {
            counts.failedRequests++;
            return;
          }
          for (const r of reply.body.results ?? []) {
            if (r.status === 201) counts.created++;
            else counts.refusedItems++;
          }
        },
        () => {
          counts.failedRequests++;
        },
      )
      .finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  private job(): Record<string, unknown> {
    const i = this.sequence++;
    const http = Math.floor((i + 1) * this.o.httpShare) > Math.floor(i * this.o.httpShare);
    return http ? { type: "http", payload: { url: this.o.httpUrl } } : { type: "noop" };
  }
}

export const requestLatency = (counts: StepCounts) => distribution(counts.requestMs);
