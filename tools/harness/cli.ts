// The tools' command lines, one way for all of them: an entry point per kind of measurement
// (tools/bench/main.ts, tools/soak/main.ts) picks a subcommand; each subcommand reads its flags with
// parseCommand (node:util's parseArgs, --help, numbers in a range, lists from a set, --save names,
// --var lines, commits). A mistake prints the message and the usage and exits 2.
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { resolveCommit } from "./project";
import { checkWhat } from "./results";

/** A subcommand: what `help` says of it, and its module, loaded only when it runs. */
export interface Subcommand {
  summary: string;
  load: () => Promise<{ main(argv: string[]): Promise<number | undefined> }>;
}

/**
 * Runs `argv`'s subcommand (its first word; `fallback` when the first word is a flag or missing) with
 * the rest of the words. Exits with the number the subcommand returns, 1 when it throws, 2 for an
 * unknown one; a subcommand that returns nothing ends when its work does.
 */
export async function runSubcommands(
  program: string,
  commands: Record<string, Subcommand>,
  fallback: string,
  argv = process.argv.slice(2),
): Promise<void> {
  const names = Object.keys(commands);
  const width = Math.max(...names.map((n) => n.length));
  const usage = [
    `usage: npm run ${program} -- [command] [options]      (${fallback} when no command is named)`,
    ...names.map((n) => `  ${n.padEnd(width)}  ${commands[n]?.summary}`),
    `npm run ${program} -- <command> --help lists a command's options.`,
  ].join("\n");
  const [first, ...rest] = argv;
  if (first === "help" || ((first === "--help" || first === "-h") && rest.length === 0)) {
    // The commands, then the options of the one that runs when none is named.
    console.log(`${usage}\n`);
    await (await commands[fallback]?.load())?.main(["--help"]);
    return;
  }
  const named = first !== undefined && !first.startsWith("-");
  const command = commands[named ? first : fallback];
  if (!command) {
    console.error(`${program}: no command ${first}\n${usage}`);
    process.exit(2);
  }
  try {
    const code = await (await command.load()).main(named ? rest : argv);
    if (code !== undefined) process.exit(code);
  } catch (err) {
    console.error(err);
    process.exit(1);
  }
}

/** `npm run <program> -- <argv>`: how a results file records the command that made it. */
export function commandLine(program: string, argv: readonly string[]): string {
  return argv.length > 0 ? `npm run ${program} -- ${argv.join(" ")}` : `npm run ${program}`;
}

export interface CommandSpec<O extends ParseArgsOptionsConfig> {
  /** Prefixes the error messages: "bench cost", "soak". */
  name: string;
  usage: string;
  options: O;
  /** Words that are not flags are allowed (files, folders); otherwise one is a mistake. */
  positionals?: boolean;
}

/** Reads `argv` by `spec`; prints the usage and exits 0 for --help, 2 for a mistake. */
export function parseCommand<O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  spec: CommandSpec<O>,
) {
  const fail = (message: string): never => {
    console.error(`${spec.name}: ${message}\n${spec.usage}`);
    process.exit(2);
  };
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean }>>;
  try {
    parsed = parseArgs({
      args: [...argv],
      // --help and -h for every command (not among the values returned).
      options: { ...spec.options, help: { type: "boolean", short: "h" } } as O,
      allowPositionals: spec.positionals ?? false,
    });
  } catch (err) {
    return fail((err as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(spec.usage);
    process.exit(0);
  }
  /** `value` as a number in min..max (an integer when `integer`). */
  const number = (flag: string, value: string | undefined, min: number, max: number, integer = false) => {
    const n = Number(value);
    if (value === undefined || value.trim() === "" || !Number.isFinite(n) || n < min || n > max)
      return fail(`--${flag} must be ${integer ? "an integer" : "a number"} in ${min}..${max}, not ${value}`);
    if (integer && !Number.isInteger(n)) return fail(`--${flag} must be an integer, not ${value}`);
    return n;
  };
  /** `value` as `check` returns it (undefined stays undefined); what `check` throws is a mistake. */
  const checked = (flag: string, value: string | undefined, check: (value: string) => string) => {
    if (value === undefined) return undefined;
    try {
      return check(value);
    } catch (err) {
      return fail(`--${flag}: ${(err as Error).message}`);
    }
  };
  return {
    values: parsed.values,
    positionals: parsed.positionals,
    fail,
    number,
    integer: (flag: string, value: string | undefined, min: number, max: number) =>
      number(flag, value, min, max, true),
    /** A comma-separated list, each item one of `allowed`. */
    list<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
      const items = value.split(",").map((s) => s.trim());
      for (const item of items)
        if (!(allowed as readonly string[]).includes(item))
          fail(`--${flag}: no ${item} (${allowed.join(", ")})`);
      return items as T[];
    },
    /** A --save name: lower-case words joined by dashes (harness/results.ts). */
    what: (flag: string, value: string | undefined) => checked(flag, value, checkWhat),
    /** A commit of the project's repository (e.g. --src-from), as its full hash. */
    commit: (flag: string, value: string | undefined) => checked(flag, value, resolveCommit),
    /** NAME=value lines for the server's vars file. */
    vars(flag: string, values: readonly string[]): string[] {
      for (const v of values)
        if (!/^[A-Z][A-Z0-9_]*=[^\n]*$/.test(v)) fail(`--${flag} wants NAME=value, not ${v}`);
      return [...values];
    },
  };
}
