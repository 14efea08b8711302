// What every part of the shard works with, built once when the object starts: its database and the
// meter that counts its rows, its settings (parsed once from the configuration), its clock, its
// randomness, its queue, its name, and the alarm's re-arm. The query modules take only what they
// need of it; tests tune a running shard through it (a cap, the queues, the archive setting).
import type { Config } from "../config";
import { QueueTurns, sendQueueOf } from "../core/queue-choice";
import { dispatchQueue } from "../dispatch/queues";
import type { Env } from "../env";
import type { SqlMeter } from "../metering/sql-meter";
import { type DispatchPolicy, dispatchPolicy, shardTimings } from "./config";
import type { ShardDb, ShardTimings } from "./db";
import { inFlight } from "./sql/claim";

export interface ShardContext {
  readonly db: ShardDb;
  /** Counts the SQLite rows each request reads and writes (src/metering/meter-methods.ts). */
  readonly sqlMeter: SqlMeter;
  /** The Worker's bindings (read through the object: tests replace them). */
  readonly env: Env;
  /** `<user id>/<n>`, for logs and the choice of queue. */
  readonly name: string;
  readonly timings: ShardTimings;
  readonly policy: DispatchPolicy;
  /** ARCHIVE_FINISHED: removed jobs are first written to the results bucket. */
  archiveFinished: boolean;
  /** ALLOW_PRIVATE_TARGETS: a PATCH is checked by the same target rules as a submit. */
  readonly allowPrivateTargets: boolean;
  /** SHARD_CEILING: the most shards a user grows to by itself, unless an admin set the user's own. */
  readonly shardCeiling: number;
  /** MAX_POOLS: the most pools a user has, unless an admin set the user's own (on the home shard). */
  readonly maxPools: number;
  /** DISPATCH_QUEUES: how many dispatch queues the shards spread over. */
  dispatchQueues: number;
  /** The shard's clock (tests replace it on the object to move time without sleeping). */
  now(): number;
  random(): number;
  /**
   * The queue for this send: the shard's own (a stable hash of its name over DISPATCH_QUEUES queues)
   * at first, the next in turn once the one it is on looks held up (src/core/queue-choice.ts).
   * `attempts`: how many claimed attempts the send carries (begins will answer them), 0 for callbacks
   * alone. Reads the shard's count of claimed, not begun attempts (one count over jobs_wake).
   */
  queue(attempts: number): Queue<unknown>;
  /** Every mutation ends here: the alarm goes to the earliest deadline (src/shard/alarm-timer.ts). */
  rearm(immediately?: boolean): Promise<void>;
  /** rearm() for a change that adds no deadline before `earliest` (AlarmTimer.rearmFrom). */
  rearmFrom(earliest: number): Promise<void>;
}

/** The object's own parts, read through at each use, so a test's replacement is seen at once. */
export interface ShardObject {
  env(): Env;
  name(): string;
  clock(): number;
  random(): number;
  rearm(immediately?: boolean): Promise<void>;
  rearmFrom(earliest: number): Promise<void>;
}

export function shardContext(
  object: ShardObject,
  db: ShardDb,
  sqlMeter: SqlMeter,
  config: Config,
): ShardContext {
  const queueTurns = new QueueTurns();
  return {
    db,
    sqlMeter,
    get env() {
      return object.env();
    },
    get name() {
      return object.name();
    },
    timings: shardTimings(config),
    policy: dispatchPolicy(config),
    archiveFinished: config.ARCHIVE_FINISHED,
    allowPrivateTargets: config.ALLOW_PRIVATE_TARGETS,
    shardCeiling: config.SHARD_CEILING,
    maxPools: config.MAX_POOLS,
    dispatchQueues: config.DISPATCH_QUEUES,
    now: () => object.clock(),
    random: () => object.random(),
    queue(attempts) {
      // The claims being sent are written already: the ones waiting from earlier sends are the rest.
      const turn = queueTurns.sent(object.clock(), attempts, inFlight(db) - attempts);
      return dispatchQueue(object.env(), sendQueueOf(object.name(), this.dispatchQueues, turn));
    },
    rearm: (immediately) => object.rearm(immediately),
    rearmFrom: (earliest) => object.rearmFrom(earliest),
  };
}
