/**
 * The `x00` command line: parses the arguments (src/cli/args.ts, the commands of src/cli/commands.ts) and runs the
 * command, with the error handling of {@linkcode main}. Loaded by `mod.ts` after its start-up checks; each command's
 * own modules are imported when the command runs (static specifiers, so `deno compile` still bundles them): `x00
 * audit` never loads the Vault client or the YAML parser, which keeps its memory small.
 *
 * @module
 */

import { VERSION } from "../version.ts";
import { parseCommandLine, type ParsedCommand, type ParseResult } from "./args.ts";
import { PROGRAM } from "./commands.ts";
import { reportFailure } from "./failure.ts";
import { runRunCommand } from "./run_entry.ts";

/**
 * Parses `args` (the arguments after `x00`): the command to run, or the help or version to print. Throws
 * a `UsageError` (src/errors.ts) for a command line it cannot accept.
 */
export function parseArgs(args: readonly string[]): ParseResult {
  return parseCommandLine(PROGRAM, args, VERSION);
}

async function run(c: ParsedCommand): Promise<number> {
  const o = c.options;
  const str = (v: unknown) => v as string | undefined;
  const mode = o.mode as "enforce" | "audit" | undefined;
  switch (c.command) {
    case "audit": {
      const { runAudit } = await import("./audit.ts");
      return await runAudit({
        durationMs: o.duration as number | undefined,
        format: o.format as "table" | "json" | undefined,
        output: str(o.output),
        exec: o.exec as boolean,
        access: o.access as boolean,
        forkExit: (o.forkExit as boolean | undefined) ?? false,
        comm: str(o.comm),
        cgroup: o.cgroup as bigint | undefined,
      });
    }
    case "run": {
      const [cmd, args] = c.args as [string, string[]];
      return await runRunCommand({
        policy: o.policy as string,
        mode,
        verbose: (o.verbose as boolean | undefined) ?? false,
        cmd,
        args,
      });
    }
    case "agent": {
      const { runAgent } = await import("./agent.ts");
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      Deno.addSignalListener("SIGTERM", onSignal);
      Deno.addSignalListener("SIGINT", onSignal);
      try {
        return await runAgent({
          policyFile: o.policy as string,
          socket: o.socket as string,
          mode,
          signal: stop.signal,
        });
      } finally {
        Deno.removeSignalListener("SIGTERM", onSignal);
        Deno.removeSignalListener("SIGINT", onSignal);
      }
    }
    case "exec": {
      const { runExec } = await import("./exec.ts");
      const [cmd, args] = c.args as [string, string[]];
      return await runExec({
        socket: o.socket as string,
        name: str(o.name),
        waitMs: o.wait as number,
        cmd,
        args,
      });
    }
    case "doctor": {
      const { runDoctor } = await import("./doctor.ts");
      return await runDoctor({ json: (o.json as boolean | undefined) ?? false });
    }
    case "policy check": {
      const { runPolicyCheck } = await import("./policy.ts");
      return await runPolicyCheck(c.args[0] as string);
    }
    case "policy schema": {
      const { runPolicySchema } = await import("./policy.ts");
      return runPolicySchema();
    }
  }
  throw new Error(`no action for command '${c.command}'`);
}

/** Runs the CLI with `args`; returns the exit code. Never throws. */
export async function main(args: string[]): Promise<number> {
  let parsed: ParseResult;
  try {
    parsed = parseArgs(args);
  } catch (e) {
    return reportFailure(e, false); // a UsageError: one line, exit code 2
  }
  if (parsed.kind === "output") {
    const out = parsed.stream === "stdout" ? Deno.stdout : Deno.stderr;
    await out.write(new TextEncoder().encode(parsed.text));
    return parsed.code;
  }
  try {
    return await run(parsed);
  } catch (e) {
    return reportFailure(e, (parsed.options.verbose as boolean | undefined) ?? false);
  }
}
