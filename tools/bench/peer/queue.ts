// The peer's store and runner: one BullMQ queue on Redis, jobs added as delayed jobs
// (delay = run_at − now) with the contract's priority mapped to BullMQ's, and a Worker in the same
// process running them. Completed and failed jobs are kept (BullMQ's default), so GET can show them.
import { type ConnectionOptions, type Job, Queue, Worker } from "bullmq";
import {
  bullmqDelay,
  bullmqPriority,
  jobView,
  type PeerJobData,
  type PeerJobSpec,
  type PeerJobView,
} from "./contract";
import { execute } from "./executor";

/**
 * Jobs the Worker runs at once. Locally the scheduler's consumer takes one batch of up to 25 messages
 * at a time from each dispatch queue and runs a batch's attempts concurrently (max_batch_size = 25 in
 * wrangler.toml), and a message carries up to 4 attempts (JOBS_PER_MESSAGE); a tenant's shard sends
 * to one queue, so up to 100 of its jobs run at once: 100 here.
 */
export const DEFAULT_CONCURRENCY = 100;

export interface PeerQueueOptions {
  redisPort: number;
  /** Jobs the Worker runs at once. */
  concurrency: number;
  queueName: string;
}

function bullmqOptions(spec: PeerJobSpec, now: number) {
  const d = spec.data;
  return {
    jobId: spec.id,
    delay: bullmqDelay(d.runAt, now),
    priority: bullmqPriority(d.priority),
    attempts: d.maxRetries + 1,
    backoff: { type: "exponential", delay: d.retryDelaySeconds * 1000 },
    timestamp: d.createdAt,
  };
}

export class PeerQueue {
  private readonly queue: Queue<PeerJobData>;
  private readonly worker: Worker<PeerJobData>;
  /** Errors BullMQ reported outside a job (connection trouble), and failed attempts: shown by /v1/health. */
  workerErrors = 0;
  failedAttempts = 0;

  constructor(o: PeerQueueOptions) {
    const connection: ConnectionOptions = {
      host: "127.0.0.1",
      port: o.redisPort,
      maxRetriesPerRequest: null,
    };
    this.queue = new Queue<PeerJobData>(o.queueName, { connection });
    this.worker = new Worker<PeerJobData>(
      o.queueName,
      (job) => execute(job.id ?? "", job.attemptsStarted, job.data),
      {
        connection,
        concurrency: o.concurrency,
      },
    );
    this.worker.on("error", (err) => {
      if (++this.workerErrors <= 5) process.stderr.write(`peer: worker error: ${err.message}\n`);
    });
    this.worker.on("failed", (job, err) => {
      if (++this.failedAttempts <= 5)
        process.stderr.write(`peer: attempt failed (${job?.id}): ${err.message}\n`);
    });
  }

  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.worker.waitUntilReady()]);
  }

  async add(spec: PeerJobSpec): Promise<PeerJobView> {
    await this.queue.add(spec.data.type, spec.data, bullmqOptions(spec, Date.now()));
    return this.viewJustAdded(spec);
  }

  /** One addBulk call: one round trip to Redis for the whole batch. */
  async addMany(specs: PeerJobSpec[]): Promise<PeerJobView[]> {
    const now = Date.now();
    await this.queue.addBulk(
      specs.map((spec) => ({ name: spec.data.type, data: spec.data, opts: bullmqOptions(spec, now) })),
    );
    return specs.map((spec) => this.viewJustAdded(spec));
  }

  async view(id: string): Promise<PeerJobView | null> {
    const job: Job<PeerJobData> | undefined = await this.queue.getJob(id);
    if (!job?.id || !job.data) return null;
    const state = await job.getState();
    if (state === "unknown") return null;
    return jobView(
      { id: job.id, data: job.data },
      {
        state,
        attemptsStarted: job.attemptsStarted,
        processedOn: job.processedOn,
        finishedOn: job.finishedOn,
        failedReason: job.failedReason,
        returnvalue: job.returnvalue,
      },
    );
  }

  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
  }

  /** What a submit answers: the job as added, without reading it back (neither does a BullMQ client). */
  private viewJustAdded(spec: PeerJobSpec): PeerJobView {
    const state = spec.data.runAt > Date.now() ? "delayed" : "prioritized";
    return jobView(spec, { state, attemptsStarted: 0 });
  }
}
