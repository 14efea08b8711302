// Every request to a shard is billed: each RPC method and the alarm count one Durable Object request
// and the SQLite rows they touch, under the phase of a job's life they serve. The table is total, so a
// new RPC method does not typecheck until its phase is named. The Worker exports the class from here
// (src/index.ts), so the class it serves is always the metered one.
import { meterMethods } from "../metering/meter-methods";
import { TaskShard } from "./task-shard";

export { TaskShard };

meterMethods(TaskShard, {
  createAccount: "other",
  authenticate: "api",
  account: "other",
  signingSecrets: "begin",
  addKey: "other",
  listKeys: "other",
  revokeKey: "other",
  rotateSigningSecret: "other",
  setShards: "other",
  setLimits: "other",
  growShards: "other",
  putPool: "other",
  listPools: "other",
  flowKey: "other",
  flowKeys: "other",
  deletePool: "other",
  submit: "submit",
  submitBatch: "submit",
  lookupKeys: "submit",
  get: "other",
  cancel: "other",
  // A dependency is checked and subscribed to as part of its dependent's submit; its news is part of
  // the finish that made it.
  dependencyStates: "submit",
  subscribeDependents: "submit",
  settleDependents: "finish",
  dependents: "other",
  pause: "other",
  resume: "other",
  runNow: "other",
  retry: "other",
  patch: "other",
  bulkCancel: "other",
  bulkRetry: "other",
  begin: "begin",
  beginMany: "begin",
  heartbeat: "heartbeat",
  finish: "finish",
  finishMany: "finish",
  beginCallbacks: "callback",
  finishCallback: "callback",
  metrics: "other",
  // Watching a job: the upgrade, and what hibernated sockets wake the object for.
  fetch: "other",
  webSocketMessage: "other",
  webSocketClose: "other",
  // Dispatch work (claims, resends, given-up leases, callbacks) makes it a claim; otherwise the index
  // copies or the removals it ran.
  alarm: (shard) => shard.alarmPhase,
});
