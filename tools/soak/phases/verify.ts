// Phase 6, verify: the verdicts (lib/analyse.ts) from the plan, the target's log and the shards' final
// views, and the run's summary: every figure the report shows, and the evidence behind a failure.
import os from "node:os";
import { wranglerVersion } from "../../harness/project";
import type { Delivery } from "../../harness/target";
import { analyse } from "../lib/analyse";
import { analyseGraphs } from "../lib/analyse-graphs";
import type { SoakDelivery } from "../lib/types";
import { reproduceCommand } from "../options";
import type { load } from "./load";
import type { Settled } from "./settle";
import type { Soak } from "./start";

type Loaded = Awaited<ReturnType<typeof load>>;

/** A target record as the analysis reads it: which job and occurrence, from the webhook-id and payload. */
export function soakDelivery(d: Delivery): SoakDelivery {
  const cut = d.webhookId.lastIndexOf(":");
  let index: number | null = null;
  try {
    const j = (JSON.parse(d.body) as { j?: unknown }).j;
    if (typeof j === "number") index = j;
  } catch {
    // not ours
  }
  return {
    wid: d.webhookId,
    jobId: cut > 0 ? d.webhookId.slice(0, cut) : d.webhookId,
    occurrence: cut > 0 ? Number(d.webhookId.slice(cut + 1)) : null,
    index,
    route: d.route,
    at: d.at,
    status: d.status,
    answeredAt: d.answeredAt,
    hungUp: d.hungUp,
    signature: d.signature,
  };
}

export function verify(soak: Soak, startedAt: number, loaded: Loaded, drainS: number, settled: Settled) {
  const { opts, server, serverLog, api, code } = soak;
  const { jobs, kills, counts, submits, submitS, cancels, graphs } = loaded;
  const deliveries = soak.target.deliveries.map(soakDelivery);
  const a = analyse({ jobs, deliveries, kills, faultWindow: { preMs: 10_000, postMs: 10_000 } });
  const g = analyseGraphs({ jobs, deliveries, kills, refusedSubmits: graphs.submits.refused });
  const mustBeZero = { ...a.mustBeZero, d1Disagreements: settled.disagreements.length, ...g.mustBeZero };
  const pass = Object.values(mustBeZero).every((n) => n === 0);
  const summary = {
    soak: "crash-restart",
    command: reproduceCommand(opts),
    startedAt: new Date(startedAt).toISOString(),
    elapsedS: Math.round((Date.now() - startedAt) / 1000),
    pass,
    params: { ...opts, out: undefined, save: undefined },
    environment: {
      node: process.versions.node,
      cpus: os.cpus().length,
      platform: `${os.platform()} ${os.release()}`,
      wrangler: wranglerVersion(),
      loadAverageAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
    },
    workload: counts,
    phases: {
      serverStartS: soak.serverStartS,
      submitS: Math.round(submitS * 10) / 10,
      submitRate: Math.round(submits.accepted / submitS),
      windowS: opts.duration,
      drainS: Math.round(drainS * 10) / 10,
    },
    kills,
    submits: { ...submits, failures: submits.failures.slice(0, 10) },
    cancels: {
      ok: cancels.ok,
      retriedAcrossKill: cancels.retriedAcrossKill,
      beforeWindowEnd: cancels.early,
      other: cancels.other.slice(0, 10),
    },
    mustBeZero,
    rawDuplicateDeliveries: a.rawDuplicateDeliveries,
    repeatsByDesign: a.repeatsByDesign,
    deliveries: a.deliveries,
    lateness: a.lateness,
    latenessNote:
      "ms; 'near a kill' = scheduled from 10 s before a kill until 10 s after the server was healthy again; " +
      "'clean' = every other scheduled time",
    recovery: a.recovery,
    crashRecovery: a.crashRecovery,
    graphs: {
      users: opts.graphs > 0 ? opts.graphUsers : 0,
      shardsPerUser: opts.graphShards,
      planned: graphs.planned,
      submits: { ...graphs.submits, failures: graphs.submits.failures.slice(0, 10) },
      ...g.figures,
      note:
        "ms from a dependent being free (its last dependency decided, or its own submit if later) to its being made " +
        "due (heard: its first attempt's scheduled_at; bounded by boundMs, from the restart when a kill fell in " +
        "between) and to its first attempt's start (started: with the dispatch's lateness, not bounded)",
    },
    lostBy: a.lostBy,
    queue: {
      ...serverLog.queue,
      attemptsBegun: a.attemptsBegun,
      messagesPerBegunAttempt: a.attemptsBegun
        ? Math.round((serverLog.queue.messages / a.attemptsBegun) * 100) / 100
        : null,
      note: "messages the local queue handed to the consumer (from its log lines) vs attempts the shards began",
    },
    deliveriesAfterSnapshot: a.deliveriesAfterSnapshot,
    finalStatus: a.finalStatus,
    okNotSucceeded: a.okNotSucceeded,
    truncatedAttemptLists: a.truncatedAttemptLists,
    d1: {
      firstLook: settled.firstLook,
      settledAfterS: settled.settledAfterS,
      onUnfinishedJobs: settled.unsettled,
      note: "must-be-0 counts jobs whose shard state is final; rows of jobs still changing cannot settle and are counted apart",
      disagreements: settled.disagreements.slice(0, 50),
    },
    code,
    server: {
      starts: server.starts,
      reloads: server.reloads,
      // The scheduler's log events by name (JSON lines with an `event` field), over every start.
      events: serverLog.events.sorted(),
      eventSamples: serverLog.events.samples,
      // Lines of the runtime's own (not JSON events): queue retries and drops, uncaught exceptions.
      runtimeLines: serverLog.runtime,
      runtimeSamples: serverLog.runtimeSamples,
    },
    client: api.stats,
    evidence: { ...a.evidence, graphs: g.evidence },
  };
  return { summary, deliveries };
}

export type Summary = ReturnType<typeof verify>["summary"];
