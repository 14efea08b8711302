// `npm run bench`: every benchmark, one command with a subcommand per kind of measurement. Each runs
// the scheduler on this machine (a server session of tools/harness: a private `wrangler dev` on a
// temporary state folder and vars file, from a frozen copy of the code) or, for `queries`, its shard
// queries in this process; see docs/benchmarks.md, docs/cost.md and docs/capacity.md for the figures.
//
//   npm run bench -- [command] [options]      npm run bench -- <command> --help
import { ensureSideInstall } from "../../scripts/lib/side-install.mjs";
import { runSubcommands } from "../harness/cli";

/** The BullMQ peer's dependencies are its own (tools/bench/peer/package.json): installed on first use. */
function withPeerInstalled<T>(load: () => Promise<T>): () => Promise<T> {
  return () => {
    ensureSideInstall("tools/bench/peer");
    return load();
  };
}

await runSubcommands(
  "bench",
  {
    scenarios: {
      summary: "pool utilisation, priority flood, thundering herd, batch submit (docs/benchmarks.md)",
      load: () => import("./scenarios/run"),
    },
    compare: {
      summary: "the same scenarios against BullMQ + Redis and this project, side by side",
      load: withPeerInstalled(() => import("./compare/run")),
    },
    cost: {
      summary: "billed operations and dollars per million jobs, by kind of job (docs/cost.md)",
      load: () => import("./cost/run"),
    },
    capacity: {
      summary: "the highest sustained rate, bytes per job, and the capacity plan (docs/capacity.md)",
      load: () => import("./capacity/run"),
    },
    bulk: {
      summary:
        "bulk cancel and retry of up to 100,000 jobs on one shard, with GETs and a heartbeat meanwhile",
      load: () => import("./bulk/run"),
    },
    profile: {
      summary:
        "a V8 CPU profile of the Worker under a thundering herd: workerd thread time per job, and where it goes",
      load: () => import("./profile/run"),
    },
    requests: {
      summary:
        "CPU per API request of each local process, by kind (health, get, submit): the local floor and what the scheduler adds",
      load: () => import("./requests/run"),
    },
    watch: {
      summary: "what idle WebSocket watchers cost the server: its CPU while idle, with and without them",
      load: () => import("./watch/run"),
    },
    queries: {
      summary: "the shard's hot queries against the rows in its table, in this process",
      load: () => import("./queries/run"),
    },
    peer: {
      summary: "the BullMQ + Redis peer alone (compare starts it itself)",
      load: withPeerInstalled(() => import("./peer/run")),
    },
  },
  "scenarios",
);
