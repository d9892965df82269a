/**
 * X00 — delivers secrets to a workload in memory only and proves in the kernel (BPF-LSM) that nothing else on the
 * machine can read them. This is the `x00` command line; every command lives in `src/cli/`.
 *
 * Start-up does as little as it can before it knows what to do: the re-execution with SIGUSR1 blocked
 * (src/hardening/inspector_signal.ts) comes before anything else is loaded, `x00 --version` and the common form of
 * `x00 run` (src/cli/run_args.ts) go without loading the command-line parser, and the parser (src/cli/main.ts,
 * src/cli/args.ts) loads each command's modules when it runs.
 *
 * The command modules are imported through {@linkcode load}, by a specifier Deno does not analyze: `deno run`
 * reads, hashes and looks up every module reachable from the main module before it runs a line, string-literal
 * `import()`s included, so `x00 --version` paid for all of X00 and yaml (~90 modules, ~19 ms over both processes of
 * the re-execution). `deno compile` does not see them either: scripts/compile.sh names each with `--include`
 * (tests/unit/assets_test.ts checks that it does).
 *
 * @module
 */
import { parseRunArgs } from "./src/cli/run_args.ts";
import { VERSION } from "./src/version.ts";

/** X00's modules that `mod.ts` imports by {@linkcode load} (each one `--include`d by scripts/compile.sh). */
export const LAZY_MODULES = [
  "./src/cli/run_entry.ts",
  "./src/cli/failure.ts",
  "./src/cli/main.ts",
] as const;

/** Imports one of {@linkcode LAZY_MODULES} (typed by the caller) without Deno loading it before start-up. */
function load<T>(path: (typeof LAZY_MODULES)[number]): Promise<T> {
  return import(new URL(path, import.meta.url).href);
}

/** Whether `args` is the one-argument `--version` (or `-V`), which needs no parser. */
function isVersionQuery(args: string[]): boolean {
  return args.length === 1 && (args[0] === "--version" || args[0] === "-V");
}

/** Prints the same line the parser prints for `--version`. */
async function printVersion(): Promise<number> {
  await Deno.stdout.write(new TextEncoder().encode(`${VERSION}\n`));
  return 0;
}

/** Runs the CLI with `args`; returns the exit code. Never throws. */
export async function main(args: string[]): Promise<number> {
  if (isVersionQuery(args)) return await printVersion();
  // The common form of `x00 run` (the start of every protected workload) needs no parser either; anything else
  // about it (help, errors) is the parser's.
  const run = parseRunArgs(args);
  if (run) {
    const { runRunCommand } = await load<typeof import("./src/cli/run_entry.ts")>(
      "./src/cli/run_entry.ts",
    );
    const { reportFailure } = await load<typeof import("./src/cli/failure.ts")>(
      "./src/cli/failure.ts",
    );
    try {
      return await runRunCommand(run);
    } catch (e) {
      return reportFailure(e, run.verbose);
    }
  }
  const cli = await load<typeof import("./src/cli/main.ts")>("./src/cli/main.ts");
  return await cli.main(args);
}

if (import.meta.main) {
  // `x00 --version` holds nothing to protect and exits long before Deno would listen for SIGUSR1 (about 500 ms
  // after start-up): it is answered before the re-execution, in one Deno start-up instead of two.
  if (isVersionQuery(Deno.args)) Deno.exit(await printVersion());
  // Before anything else: SIGUSR1 must never open Deno's inspector (src/hardening/inspector_signal.ts).
  const { ensureInspectorSignalBlocked } = await import("./src/hardening/inspector_signal.ts");
  try {
    ensureInspectorSignalBlocked();
  } catch (e) {
    console.error(`x00: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1); // ExitCode.FAILURE
  }
  Deno.exit(await main(Deno.args));
}
