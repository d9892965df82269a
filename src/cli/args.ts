/**
 * A small command-line parser for the `x00` commands (src/cli/commands.ts describes them): options, arguments,
 * subcommands and help text, in the forms and with the messages that `commander` gave X00 before (tests/unit/
 * cli_args_test.ts compares them with what commander printed). It imports nothing heavy: commander loaded Deno's Node
 * compatibility layer, ~35 ms and ~12 MB of RSS before any command ran (bench/RESULTS_run.md).
 *
 * What it accepts: `--name VALUE` and `--name=VALUE` (the value may start with `-`), `-v` and combined short flags
 * (`-vv`), `--no-NAME` for an option that defaults to true, `--` to end the options, the last of a repeated option,
 * options after arguments; a command with `passThrough` stops at its first argument (the rest is the workload's).
 * Errors are {@linkcode UsageError}s (src/errors.ts): one line, no stack trace, exit code 2.
 *
 * @module
 */
import { UsageError } from "../errors.ts";

/** One option of a command. */
export interface OptionSpec {
  /** As shown in the help: `--policy <file>`, `-v, --verbose`, `--no-exec`. */
  flags: string;
  /** The help text. */
  description: string;
  /** Must be given (the help does not say so; commander's did not either). */
  required?: boolean;
  /** The only values accepted. */
  choices?: readonly string[];
  /** The value when the option is not given (shown in the help unless undefined). */
  default?: unknown;
  /** Turns the value into what the command receives; throws {@linkcode InvalidValueError} to refuse it. */
  parse?: (value: string) => unknown;
}

/** One positional argument of a command. */
export interface ArgumentSpec {
  name: string;
  description: string;
  required: boolean;
  /** Takes every argument left (only the last one). */
  variadic?: boolean;
}

/** A command, or a command with subcommands (then it has no action of its own). */
export interface CommandSpec {
  name: string;
  description: string;
  options?: readonly OptionSpec[];
  arguments?: readonly ArgumentSpec[];
  /** Everything from the first argument on is an argument, options included (`x00 run -- CMD -x`). */
  passThrough?: boolean;
  subcommands?: readonly CommandSpec[];
}

/** The command line, parsed: which command, its options (by camelCase name) and its arguments. */
export interface ParsedCommand {
  kind: "command";
  /** The command's path below the program: `audit`, `policy check`. */
  command: string;
  options: Record<string, unknown>;
  /** One entry per argument spec: a string, a string[] for a variadic one, undefined when not given. */
  args: (string | string[] | undefined)[];
}

/** Help or the version to print instead of running anything, and the exit code. */
export interface ParsedOutput {
  kind: "output";
  stream: "stdout" | "stderr";
  text: string;
  code: number;
}

/** What {@linkcode parseCommandLine} returns. */
export type ParseResult = ParsedCommand | ParsedOutput;

/** Thrown by an {@linkcode OptionSpec.parse} function: the value is refused, for this reason. */
export class InvalidValueError extends Error {
  override name = "InvalidValueError";
}

/** The help is wrapped to this many columns (commander's width when the output is not a terminal). */
export const HELP_WIDTH = 80;

interface Flag {
  spec: OptionSpec;
  short?: string;
  long: string;
  /** `<file>`: the option takes a value. */
  value?: string;
  /** The key in {@linkcode ParsedCommand.options}. */
  key: string;
  negate: boolean;
}

function camel(s: string): string {
  return s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function flagOf(spec: OptionSpec): Flag {
  const m = /^(?:-([A-Za-z]), )?--([a-z][a-z0-9-]*)(?: (<[^>]+>))?$/.exec(spec.flags);
  if (!m) throw new TypeError(`bad option flags '${spec.flags}'`);
  const negate = m[2]!.startsWith("no-");
  const name = negate ? m[2]!.slice(3) : m[2]!;
  return { spec, short: m[1], long: `--${m[2]}`, value: m[3], key: camel(name), negate };
}

/** The number of edits (insert, delete, substitute, swap two neighbours) from `a` to `b`. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      }
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** ` (did you mean X?)` for the closest of `candidates` (as commander chose it), or "". */
function suggestion(word: string, candidates: readonly string[]): string {
  let best: string[] = [];
  let bestDistance = 3; // at most 2 edits
  for (const c of candidates) {
    if (c.length <= 1) continue;
    const dist = editDistance(word, c);
    const length = Math.max(word.length, c.length);
    if ((length - dist) / length <= 0.4) continue;
    if (dist < bestDistance) [best, bestDistance] = [[c], dist];
    else if (dist === bestDistance) best.push(c);
  }
  return best.length ? ` (did you mean ${best.sort().join(", ")}?)` : "";
}

// --- help -------------------------------------------------------------------------------------------------------

/**
 * Wraps `text`, which starts at column `indent`, into lines that end by column `width`; the lines after the first
 * are indented by `indent`.
 */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}

function argumentTerm(a: ArgumentSpec): string {
  const name = a.variadic ? `${a.name}...` : a.name;
  return a.required ? `<${name}>` : `[${name}]`;
}

const HELP_OPTION: OptionSpec = { flags: "-h, --help", description: "display help for command" };
const VERSION_OPTION: OptionSpec = {
  flags: "-V, --version",
  description: "output the version number",
};
const HELP_COMMAND: CommandSpec = {
  name: "help",
  description: "display help for command",
  arguments: [{ name: "command", description: "", required: false }],
};

function commandTerm(c: CommandSpec): string {
  const parts = [c.name];
  if (c.options?.length) parts.push("[options]");
  for (const a of c.arguments ?? []) parts.push(argumentTerm(a));
  return parts.join(" ");
}

function optionDescription(o: OptionSpec): string {
  const extra: string[] = [];
  if (o.choices) extra.push(`choices: ${o.choices.map((c) => JSON.stringify(c)).join(", ")}`);
  if (o.default !== undefined && !flagOf(o).negate) extra.push(`default: ${String(o.default)}`);
  return extra.length ? `${o.description} (${extra.join(", ")})` : o.description;
}

/** The help of `command` (`path`: its names from the program down, `x00 policy check`), as commander laid it out. */
export function helpText(command: CommandSpec, path: string, version?: string): string {
  const subcommands = command.subcommands ? [...command.subcommands, HELP_COMMAND] : [];
  const args = (command.arguments ?? []).map((a) => [a.name, a.description] as const);
  const options = [
    ...(version ? [VERSION_OPTION] : []),
    ...(command.options ?? []),
    HELP_OPTION,
  ].map((o) => [o.flags, optionDescription(o)] as const);
  const commands = subcommands.map((c) => [commandTerm(c), c.description] as const);
  const termWidth = Math.max(0, ...[...args, ...options, ...commands].map(([t]) => t.length));
  const items = (title: string, list: readonly (readonly [string, string])[]) =>
    list.length === 0 ? [] : [
      `${title}:`,
      ...list.map(([t, d]) =>
        `  ${t.padEnd(termWidth)}  ${wrap(d, HELP_WIDTH, termWidth + 4)}`.trimEnd()
      ),
      "",
    ];
  const usage = [path, "[options]"];
  if (command.subcommands) usage.push("[command]");
  for (const a of command.arguments ?? []) usage.push(argumentTerm(a));
  return [
    `Usage: ${usage.join(" ")}`,
    "",
    wrap(command.description, HELP_WIDTH, 0),
    "",
    ...items("Arguments", args),
    ...items("Options", options),
    ...items("Commands", commands),
  ].join("\n");
}

// --- parsing ----------------------------------------------------------------------------------------------------

function parseLeaf(
  command: CommandSpec,
  path: string,
  names: string,
  argv: readonly string[],
): ParseResult {
  const flags = (command.options ?? []).map(flagOf);
  const options: Record<string, unknown> = {};
  for (const f of flags) {
    if (f.negate) options[f.key] = true;
    else if (f.spec.default !== undefined) options[f.key] = f.spec.default;
  }
  const operands: string[] = [];
  let unknown: string | undefined;
  const setValue = (f: Flag, raw: string) => {
    if (f.spec.choices && !f.spec.choices.includes(raw)) {
      throw new UsageError(
        `option '${f.spec.flags}' argument '${raw}' is invalid. Allowed choices are ${
          f.spec.choices.join(", ")
        }.`,
      );
    }
    try {
      options[f.key] = f.spec.parse ? f.spec.parse(raw) : raw;
    } catch (e) {
      if (!(e instanceof InvalidValueError)) throw e;
      throw new UsageError(`option '${f.spec.flags}' argument '${raw}' is invalid. ${e.message}`);
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (command.passThrough && operands.length > 0) {
      operands.push(...argv.slice(i));
      break;
    }
    if (a === "--help" || a === "-h") {
      return { kind: "output", stream: "stdout", text: helpText(command, path), code: 0 };
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a : a.slice(0, eq);
      const f = flags.find((f) => f.long === name);
      if (f && f.value !== undefined) {
        if (eq >= 0) setValue(f, a.slice(eq + 1));
        else if (i + 1 < argv.length) setValue(f, argv[++i]!);
        else throw new UsageError(`option '${f.spec.flags}' argument missing`);
      } else if (f && eq < 0) {
        options[f.key] = !f.negate;
      } else {
        unknown ??= a;
      }
    } else if (a.length > 1 && a.startsWith("-")) {
      for (let k = 1; k < a.length; k++) {
        const f = flags.find((f) => f.short === a[k]);
        if (f && f.value === undefined) options[f.key] = true;
        else {
          unknown ??= `-${a.slice(k)}`; // `-vx`: '-x' is unknown
          break;
        }
      }
    } else {
      operands.push(a);
    }
  }
  for (const f of flags) {
    if (f.spec.required && options[f.key] === undefined) {
      throw new UsageError(`required option '${f.spec.flags}' not specified`);
    }
  }
  if (unknown !== undefined) {
    const longs = flags.map((f) => f.long).concat("--help");
    const hint = unknown.startsWith("--") ? suggestion(unknown.split("=")[0]!, longs) : "";
    throw new UsageError(`unknown option '${unknown}'${hint}`);
  }
  const specs = command.arguments ?? [];
  const args: (string | string[] | undefined)[] = [];
  for (const [n, s] of specs.entries()) {
    if (s.variadic) args.push(operands.slice(n));
    else if (n < operands.length) args.push(operands[n]);
    else if (s.required) throw new UsageError(`missing required argument '${s.name}'`);
    else args.push(undefined);
  }
  if (!specs.at(-1)?.variadic && operands.length > specs.length) {
    const n = specs.length;
    throw new UsageError(
      `too many arguments for '${command.name}'. Expected ${n} argument${
        n === 1 ? "" : "s"
      } but got ${operands.length}: ${operands.join(", ")}.`,
    );
  }
  return { kind: "command", command: names, options, args };
}

function parseIn(
  command: CommandSpec,
  path: string,
  names: string,
  argv: readonly string[],
  version?: string,
): ParseResult {
  const subs = command.subcommands;
  if (!subs) return parseLeaf(command, path, names, argv);
  const help = (stream: "stdout" | "stderr", c = command, p = path): ParsedOutput => ({
    kind: "output",
    stream,
    text: helpText(c, p, c === command ? version : undefined),
    code: 0,
  });
  const first = argv[0];
  if (first === undefined) return help("stderr");
  if (first === "--help" || first === "-h") return help("stdout");
  if (version !== undefined && (first === "--version" || first === "-V")) {
    return { kind: "output", stream: "stdout", text: `${version}\n`, code: 0 };
  }
  if (first.startsWith("-") && first !== "-") {
    const longs = ["--help", ...(version ? ["--version"] : [])];
    const hint = first.startsWith("--") ? suggestion(first.split("=")[0]!, longs) : "";
    throw new UsageError(`unknown option '${first}'${hint}`);
  }
  const find = (name: string) => subs.find((c) => c.name === name);
  const unknownCommand = (name: string) =>
    new UsageError(
      `unknown command '${name}'${suggestion(name, [...subs.map((c) => c.name), "help"])}`,
    );
  if (first === "help") {
    // `help [command] [subcommand...]`: the help of that command
    let c = command;
    let p = path;
    for (const name of argv.slice(1)) {
      const sub = c.subcommands?.find((s) => s.name === name);
      if (!sub) {
        if (name === "help" && c.subcommands) break;
        throw unknownCommand(name);
      }
      [c, p] = [sub, `${p} ${name}`];
    }
    return help("stdout", c, p);
  }
  const sub = find(first);
  if (!sub) throw unknownCommand(first);
  const subNames = names === "" ? sub.name : `${names} ${sub.name}`;
  return parseIn(sub, `${path} ${sub.name}`, subNames, argv.slice(1));
}

/**
 * Parses `argv` (the arguments after the program name) against `program`: the command to run with its options
 * and arguments, or the help or version to print. Throws {@linkcode UsageError} for anything it cannot accept.
 */
export function parseCommandLine(
  program: CommandSpec,
  argv: readonly string[],
  version: string,
): ParseResult {
  return parseIn(program, program.name, "", argv, version);
}
