/**
 * How the CLI reports a command that failed: one `x00: ...` line on stderr and the exit code. Shared by the
 * command line (src/cli/main.ts) and the `x00 run` fast path of mod.ts; imports nothing heavy.
 *
 * @module
 */
import { ExitCode, X00Error } from "../errors.ts";

/** The libbpf log (verifier log) carried by `e` or one of its causes. */
function bpfLog(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) {
    const log = (c as { log?: unknown }).log;
    if (typeof log === "string" && log !== "") return log;
  }
  return undefined;
}

/**
 * Prints `e` as the CLI does and returns the exit code. `verbose` (`--verbose`) or `X00_DEBUG` add what libbpf
 * logged: its warnings and the whole verifier log, and with `X00_DEBUG` its debug lines too (src/protect/libbpf.ts).
 */
export function reportFailure(e: unknown, verbose: boolean): number {
  const log = verbose || Deno.env.get("X00_DEBUG") ? bpfLog(e) : undefined;
  if (e instanceof X00Error) {
    console.error(`x00: ${e.message}`);
    if (log) console.error(log);
    return e.exitCode;
  }
  if (
    e instanceof Error &&
    ["LibbpfNotFoundError", "BpfError", "BpfVerifierError"].includes(e.name)
  ) {
    console.error(`x00: ${e.message}`);
    if (log) console.error(log);
    return ExitCode.FAILURE;
  }
  console.error(`x00: internal error: ${e instanceof Error ? e.message : String(e)}`);
  if (Deno.env.get("X00_DEBUG")) console.error(e);
  return ExitCode.FAILURE;
}
