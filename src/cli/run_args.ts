/**
 * `x00 run` arguments in their common forms, parsed without loading the full command-line parser (src/cli/main.ts
 * and the command table) at the start of every protected workload. Whatever this does not accept goes to the full
 * parser, which parses it (and reports errors); tests/unit/run_args_test.ts checks that what this accepts, the
 * full parser parses to the same options.
 *
 * @module
 */

/** What `x00 run` was asked to do. */
export interface RunArgs {
  policy: string;
  mode?: "enforce" | "audit";
  verbose: boolean;
  cmd: string;
  args: string[];
}

/**
 * Parses `run [--policy P|--policy=P] [--mode M|--mode=M] [-v|--verbose] [--] CMD [ARGS...]` (options in any
 * order, each at most once; `--policy` required; values not empty and not starting with `-`; everything after
 * CMD belongs to the workload). Returns undefined for anything else: help, other or repeated options, a
 * missing or unknown value, no CMD.
 */
export function parseRunArgs(argv: readonly string[]): RunArgs | undefined {
  if (argv[0] !== "run") return undefined;
  let policy: string | undefined;
  let mode: RunArgs["mode"];
  let verbose = false;
  let i = 1;
  const value = (v: string | undefined) =>
    v === undefined || v === "" || v.startsWith("-") ? undefined : v;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-")) break; // CMD: the rest is the workload's
    const eq = a.indexOf("=");
    const name = eq < 0 ? a : a.slice(0, eq);
    if (name === "--policy" || name === "--mode") {
      const v = value(eq < 0 ? argv[++i] : a.slice(eq + 1));
      if (v === undefined) return undefined;
      if (name === "--policy") {
        if (policy !== undefined) return undefined;
        policy = v;
      } else {
        if (mode !== undefined || (v !== "enforce" && v !== "audit")) return undefined;
        mode = v;
      }
    } else if ((a === "-v" || a === "--verbose") && !verbose) {
      verbose = true;
    } else {
      return undefined;
    }
  }
  if (policy === undefined || i >= argv.length) return undefined;
  const cmd = argv[i]!;
  return { policy, mode, verbose, cmd, args: argv.slice(i + 1) };
}
