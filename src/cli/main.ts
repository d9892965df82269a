/**
 * The `x00` command line (commander): every command's options, and the error handling of {@linkcode main}. Loaded
 * by `mod.ts` after its start-up checks; each command's own modules are imported when the command runs.
 *
 * @module
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { parseDuration } from "../duration.ts";
import { ExitCode } from "../errors.ts";
import { reportFailure } from "./failure.ts";
import type { RunArgs } from "./run_args.ts";
import { runRunCommand } from "./run_entry.ts";

// Each command's modules are imported when the command runs: `x00 audit` never loads the Vault client or the
// YAML parser, which keeps its memory small. (Static specifiers, so `deno compile` still bundles them.)
import { VERSION } from "../version.ts";

function durationArg(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    throw new InvalidArgumentError(`'${value}' is not a duration (examples: 500ms, 30s, 5m, 1h)`);
  }
  return ms;
}

function cgroupArg(value: string): bigint {
  if (!/^\d+$/.test(value)) {
    throw new InvalidArgumentError(`'${value}' is not a cgroup id (a decimal number)`);
  }
  return BigInt(value);
}

/** Set by `--verbose`: failures print everything libbpf logged (the whole verifier log). */
let verbose = false;

/** What the commands do, replaceable in tests (only `run` today). */
export interface CliActions {
  run: (a: RunArgs) => Promise<number>;
}

/** Builds the command tree; `exit` receives each command's exit code. */
export function buildCli(
  exit: (code: number) => void,
  actions: CliActions = { run: runRunCommand },
): Command {
  const program = new Command("x00")
    .description(
      "Deliver secrets to a workload in memory only; the kernel (BPF-LSM) keeps everyone else out.",
    )
    .version(VERSION, "-V, --version")
    .exitOverride()
    .enablePositionalOptions()
    .configureOutput({ outputError: (str, write) => write(`x00: ${str.replace(/^error: /, "")}`) });

  program.command("audit")
    .description(
      "stream every exec and every cross-process access attempt on this host (zero config)",
    )
    .option(
      "--duration <time>",
      "stop after this long (e.g. 30s); default: until Ctrl-C",
      durationArg,
    )
    .addOption(
      new Option("--format <format>", "table on a terminal, json (JSON Lines) otherwise").choices([
        "table",
        "json",
      ]),
    )
    .option("--output <file>", "append events to FILE instead of stdout")
    .option("--no-exec", "do not report execs")
    .option("--no-access", "do not report access attempts")
    .option("--fork-exit", "also report forks and exits")
    .option("--comm <name>", "only events of processes with this command name")
    .option("--cgroup <id>", "only events of this cgroup v2 id", cgroupArg)
    .option("-v, --verbose", "on a BPF failure, print the whole verifier log")
    .action(async (o) => {
      verbose = o.verbose ?? false;
      const { runAudit } = await import("./audit.ts");
      exit(
        await runAudit({
          durationMs: o.duration,
          format: o.format,
          output: o.output,
          exec: o.exec,
          access: o.access,
          forkExit: o.forkExit ?? false,
          comm: o.comm,
          cgroup: o.cgroup,
        }),
      );
    });

  program.command("run")
    .description("start CMD as a protected workload with its secrets in memory only")
    .requiredOption("--policy <file>", "policy file (YAML)")
    .addOption(new Option("--mode <mode>", "override policy.mode").choices(["enforce", "audit"]))
    .option("-v, --verbose", "on a BPF failure, print the whole verifier log")
    .argument("<cmd>", "the workload's program")
    .argument("[args...]", "its arguments (put -- before CMD)")
    .passThroughOptions()
    .action(async (cmd: string, args: string[], o) => {
      verbose = o.verbose ?? false;
      exit(await actions.run({ policy: o.policy, mode: o.mode, verbose, cmd, args }));
    });

  program.command("agent")
    .description(
      "sidecar: hold the secrets and serve them over a Unix socket to processes the kernel identifies",
    )
    .requiredOption("--policy <file>", "policy file (YAML) with a 'clients' section")
    .requiredOption("--socket <path>", "the Unix socket to listen on (no network listener, ever)")
    .addOption(new Option("--mode <mode>", "override policy.mode").choices(["enforce", "audit"]))
    .option("-v, --verbose", "on a BPF failure, print the whole verifier log")
    .action(async (o) => {
      verbose = o.verbose ?? false;
      const { runAgent } = await import("./agent.ts");
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      Deno.addSignalListener("SIGTERM", onSignal);
      Deno.addSignalListener("SIGINT", onSignal);
      try {
        exit(
          await runAgent({
            policyFile: o.policy,
            socket: o.socket,
            mode: o.mode,
            signal: stop.signal,
          }),
        );
      } finally {
        Deno.removeSignalListener("SIGTERM", onSignal);
        Deno.removeSignalListener("SIGINT", onSignal);
      }
    });

  program.command("exec")
    .description(
      "sidecar: get this process's secrets from x00 agent, then become CMD (execve in place)",
    )
    .requiredOption("--socket <path>", "the agent's Unix socket")
    .option(
      "--name <client>",
      "the policy's client entry to be served as (default: the first that matches)",
    )
    .option("--wait <duration>", "how long to wait for the agent", durationArg, 10_000)
    .argument("<cmd>", "the program to become")
    .argument("[args...]", "its arguments (put -- before CMD)")
    .passThroughOptions()
    .action(async (cmd: string, args: string[], o) => {
      const { runExec } = await import("./exec.ts");
      await runExec({ socket: o.socket, name: o.name, waitMs: o.wait, cmd, args });
    });

  program.command("doctor")
    .description(
      "report what this kernel allows; exit 0 if enforce is possible, 3 if only audit, 4 if neither",
    )
    .option("--json", "machine-readable report")
    .action(async (o) => {
      const { runDoctor } = await import("./doctor.ts");
      exit(await runDoctor({ json: o.json ?? false }));
    });

  const policy = program.command("policy").description(
    "validate policy files and print their JSON Schema",
  );
  policy.command("check")
    .description("validate a policy file (errors as FILE:LINE:COL)")
    .argument("<file>", "policy file (YAML)")
    .action(async (file: string) => {
      const { runPolicyCheck } = await import("./policy.ts");
      exit(await runPolicyCheck(file));
    });
  policy.command("schema")
    .description("print the policy JSON Schema (for editors)")
    .action(async () => {
      const { runPolicySchema } = await import("./policy.ts");
      exit(runPolicySchema());
    });

  return program;
}

/** Runs the CLI with `args`; returns the exit code. Never throws. */
export async function main(args: string[]): Promise<number> {
  let code = ExitCode.OK as number;
  const program = buildCli((c) => code = c);
  try {
    await program.parseAsync(args, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return 0;
      if (e.code === "commander.help") return 0;
      return ExitCode.USAGE;
    }
    return reportFailure(e, verbose);
  }
}
