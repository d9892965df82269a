/**
 * The `x00` commands, their options and arguments, and their help texts (parsed by src/cli/args.ts; run by
 * src/cli/main.ts). The help texts are the ones X00 has always printed.
 *
 * @module
 */
import { parseDuration } from "../duration.ts";
import { type CommandSpec, InvalidValueError, type OptionSpec } from "./args.ts";

function durationArg(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) {
    throw new InvalidValueError(`'${value}' is not a duration (examples: 500ms, 30s, 5m, 1h)`);
  }
  return ms;
}

function cgroupArg(value: string): bigint {
  if (!/^\d+$/.test(value)) {
    throw new InvalidValueError(`'${value}' is not a cgroup id (a decimal number)`);
  }
  return BigInt(value);
}

const VERBOSE: OptionSpec = {
  flags: "-v, --verbose",
  description: "on a BPF failure, print the whole verifier log",
};
const MODE: OptionSpec = {
  flags: "--mode <mode>",
  description: "override policy.mode",
  choices: ["enforce", "audit"],
};

/** The `x00` program: every command. */
export const PROGRAM: CommandSpec = {
  name: "x00",
  description:
    "Deliver secrets to a workload in memory only; the kernel (BPF-LSM) keeps everyone else out.",
  subcommands: [
    {
      name: "audit",
      description:
        "stream every exec and every cross-process access attempt on this host (zero config)",
      options: [
        {
          flags: "--duration <time>",
          description: "stop after this long (e.g. 30s); default: until Ctrl-C",
          parse: durationArg,
        },
        {
          flags: "--format <format>",
          description: "table on a terminal, json (JSON Lines) otherwise",
          choices: ["table", "json"],
        },
        { flags: "--output <file>", description: "append events to FILE instead of stdout" },
        { flags: "--no-exec", description: "do not report execs" },
        { flags: "--no-access", description: "do not report access attempts" },
        { flags: "--fork-exit", description: "also report forks and exits" },
        { flags: "--comm <name>", description: "only events of processes with this command name" },
        {
          flags: "--cgroup <id>",
          description: "only events of this cgroup v2 id",
          parse: cgroupArg,
        },
        VERBOSE,
      ],
    },
    {
      name: "run",
      description: "start CMD as a protected workload with its secrets in memory only",
      options: [
        { flags: "--policy <file>", description: "policy file (YAML)", required: true },
        MODE,
        VERBOSE,
      ],
      arguments: [
        { name: "cmd", description: "the workload's program", required: true },
        {
          name: "args",
          description: "its arguments (put -- before CMD)",
          required: false,
          variadic: true,
        },
      ],
      passThrough: true,
    },
    {
      name: "agent",
      description:
        "sidecar: hold the secrets and serve them over a Unix socket to processes the kernel identifies",
      options: [
        {
          flags: "--policy <file>",
          description: "policy file (YAML) with a 'clients' section",
          required: true,
        },
        {
          flags: "--socket <path>",
          description: "the Unix socket to listen on (no network listener, ever)",
          required: true,
        },
        MODE,
        VERBOSE,
      ],
    },
    {
      name: "exec",
      description:
        "sidecar: get this process's secrets from x00 agent, then become CMD (execve in place)",
      options: [
        { flags: "--socket <path>", description: "the agent's Unix socket", required: true },
        {
          flags: "--name <client>",
          description:
            "the policy's client entry to be served as (default: the first that matches)",
        },
        {
          flags: "--wait <duration>",
          description: "how long to wait for the agent",
          parse: durationArg,
          default: 10_000,
        },
      ],
      arguments: [
        { name: "cmd", description: "the program to become", required: true },
        {
          name: "args",
          description: "its arguments (put -- before CMD)",
          required: false,
          variadic: true,
        },
      ],
      passThrough: true,
    },
    {
      name: "doctor",
      description:
        "report what this kernel allows; exit 0 if enforce is possible, 3 if only audit, 4 if neither",
      options: [{ flags: "--json", description: "machine-readable report" }],
    },
    {
      name: "policy",
      description: "validate policy files and print their JSON Schema",
      subcommands: [
        {
          name: "check",
          description: "validate a policy file (errors as FILE:LINE:COL)",
          arguments: [{ name: "file", description: "policy file (YAML)", required: true }],
        },
        { name: "schema", description: "print the policy JSON Schema (for editors)" },
      ],
    },
  ],
};
