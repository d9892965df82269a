/**
 * `x00 run` as a command: its parsed arguments to {@linkcode runRun}. Used by the command line and by the fast
 * path of mod.ts; imports nothing until it runs.
 *
 * @module
 */
import type { RunArgs } from "./run_args.ts";

/** Runs `x00 run`; returns the exit code (throws what runRun throws). */
export async function runRunCommand(a: RunArgs): Promise<number> {
  const { runRun } = await import("./run.ts");
  return await runRun({ policyFile: a.policy, mode: a.mode, cmd: a.cmd, args: a.args });
}
