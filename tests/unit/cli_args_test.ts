/**
 * The hand-written parser (src/cli/args.ts, src/cli/commands.ts) against commander, which X00 used before:
 * tests/unit/fixtures/cli_commander.json holds what commander 15.1.0 printed, returned or parsed for each command
 * line (captured at the last commit that had it), and the parser must give the same, except where listed below.
 */
import assert from "node:assert/strict";
import { X00Error } from "../../src/errors.ts";
import { parseArgs } from "../../src/cli/main.ts";

interface Case {
  argv: string[];
  code: number;
  stdout: string;
  stderr: string;
  action?: { command: string; options: Record<string, unknown>; args: unknown[] };
}

const CASES: Case[] = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/cli_commander.json", import.meta.url)),
);

/** Where X00 now says something else on purpose: one line, and the actual mistake. */
const CHANGED: Record<string, string> = {
  // commander's suggestion was a second line
  '["audt"]': "x00: unknown command 'audt' (did you mean audit?)\n",
  '["runn"]': "x00: unknown command 'runn' (did you mean run?)\n",
  '["audit","--exec"]': "x00: unknown option '--exec' (did you mean --no-exec?)\n",
  '["audit","--fork-exit=1"]': "x00: unknown option '--fork-exit=1' (did you mean --fork-exit?)\n",
  '["doctor","--json=1"]': "x00: unknown option '--json=1' (did you mean --json?)\n",
  // commander printed the program's help (exit 0)
  '["help","bogus"]': "x00: unknown command 'bogus'\n",
  // commander took `--verbose=1` for the workload's command, then missed --policy
  '["run","--verbose=1","--policy","p.yaml","cmd"]':
    "x00: unknown option '--verbose=1' (did you mean --verbose?)\n",
};

function ours(argv: string[]): Omit<Case, "argv"> {
  try {
    const r = parseArgs(argv);
    if (r.kind === "output") {
      return {
        code: r.code,
        stdout: r.stream === "stdout" ? r.text : "",
        stderr: r.stream === "stderr" ? r.text : "",
      };
    }
    const options = Object.fromEntries(
      Object.entries(r.options).map(([k, v]) => [k, typeof v === "bigint" ? `${v}n` : v]),
    );
    return {
      code: 0,
      stdout: "",
      stderr: "",
      action: { command: r.command, options, args: r.args },
    };
  } catch (e) {
    assert.ok(e instanceof X00Error && e.name === "UsageError", String(e));
    assert.equal(e.exitCode, 2);
    return { code: 2, stdout: "", stderr: `x00: ${e.message}\n` };
  }
}

Deno.test("every command line is parsed, helped or refused as commander did", () => {
  assert.ok(CASES.length > 100);
  for (const c of CASES) {
    const key = JSON.stringify(c.argv);
    const want = CHANGED[key] === undefined
      ? { code: c.code, stdout: c.stdout, stderr: c.stderr, ...(c.action && { action: c.action }) }
      : { code: 2, stdout: "", stderr: CHANGED[key] };
    assert.deepEqual(ours(c.argv), want, key);
  }
});

Deno.test("every refusal is one line", () => {
  for (const c of CASES) {
    const r = ours(c.argv);
    if (r.code !== 0) {
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, JSON.stringify(c.argv));
    }
  }
});
