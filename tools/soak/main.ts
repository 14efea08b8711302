// `npm run soak`: the crash-restart soak, one command with a subcommand per thing it does: run a soak
// (the default), analyse a kept run's raw records again, or render saved summaries into
// docs/reliability.md. See tools/soak/README.md.
//
//   npm run soak -- [command] [options]      npm run soak -- <command> --help
import { runSubcommands } from "../harness/cli";

await runSubcommands(
  "soak",
  {
    run: {
      summary: "the soak: jobs, SIGKILLs of the server, drain, verdicts (npm run soak:ci: the short one)",
      load: () => import("./run"),
    },
    reanalyse: {
      summary: "the verdicts and recovery figures of a kept run, from its raw records",
      load: () => import("./reanalyse"),
    },
    render: {
      summary: "saved summaries into the Crash-restart soak section of docs/reliability.md",
      load: () => import("./render"),
    },
  },
  "run",
);
