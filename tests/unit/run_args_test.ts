/**
 * The `x00 run` fast path (src/cli/run_args.ts) against the full parser (src/cli/args.ts): whatever the fast path
 * accepts, the parser parses to the same options; the common forms are accepted; everything else is left to the
 * parser.
 */
import assert from "node:assert/strict";
import { parseArgs } from "../../src/cli/main.ts";
import { parseRunArgs, type RunArgs } from "../../src/cli/run_args.ts";

/** What the full parser makes of `argv`: the run command's arguments, or the error message. */
function full(argv: string[]): RunArgs | string {
  try {
    const r = parseArgs(argv);
    if (r.kind !== "command" || r.command !== "run") return r.kind;
    const [cmd, args] = r.args as [string, string[]];
    const o = r.options;
    return {
      policy: o.policy as string,
      mode: o.mode as RunArgs["mode"],
      verbose: (o.verbose as boolean | undefined) ?? false,
      cmd,
      args,
    };
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const ACCEPTED: string[][] = [
  ["run", "--policy", "p.yaml", "--", "/bin/true"],
  ["run", "--policy", "p.yaml", "/bin/true"],
  ["run", "--policy=p.yaml", "--", "sh", "-c", "echo hi"],
  ["run", "--policy", "p.yaml", "--mode", "audit", "--", "/bin/true"],
  ["run", "--mode=enforce", "--policy", "p.yaml", "--", "/bin/true"],
  ["run", "-v", "--policy", "p.yaml", "--", "cmd", "--verbose", "-v", "--policy", "x"],
  ["run", "--policy", "p.yaml", "--verbose", "cmd", "a", "--", "b"],
  ["run", "--policy", "p.yaml", "--", "cmd", "--", "x"],
  ["run", "--policy", "p.yaml", "--", "-weird-cmd"],
  ["run", "--policy", "p.yaml", "--", ""],
  ["run", "--policy", "p=q.yaml", "--", "/bin/true"],
  ["run", "--policy=a=b", "cmd"],
];

const LEFT_TO_PARSER: string[][] = [
  ["run"],
  ["run", "--help"],
  ["run", "-h"],
  ["run", "--policy", "p.yaml"],
  ["run", "--policy", "p.yaml", "--"],
  ["run", "--", "/bin/true"],
  ["run", "/bin/true", "--policy", "p.yaml"],
  ["run", "--policy"],
  ["run", "--policy="],
  ["run", "--policy", "-x", "--", "cmd"],
  ["run", "--policy", "a", "--policy", "b", "--", "cmd"],
  ["run", "--policy", "p.yaml", "--mode", "bogus", "--", "cmd"],
  ["run", "--policy", "p.yaml", "--mode", "audit", "--mode", "audit", "cmd"],
  ["run", "--policy", "p.yaml", "--other", "--", "cmd"],
  ["run", "--policy", "p.yaml", "-vv", "--", "cmd"],
  ["run", "--policy", "p.yaml", "-v", "-v", "--", "cmd"],
  ["run", "--verbose=1", "--policy", "p.yaml", "cmd"],
  ["--version"],
  ["audit"],
  ["agent", "--policy", "p.yaml", "--socket", "s"],
];

Deno.test("parseRunArgs() accepts the common forms, and the full parser parses them the same", () => {
  for (const argv of ACCEPTED) {
    const fast = parseRunArgs(argv);
    assert.ok(fast, `accepted: ${JSON.stringify(argv)}`);
    assert.deepEqual(fast, full(argv), JSON.stringify(argv));
  }
});

Deno.test("parseRunArgs() leaves everything else to the full parser", () => {
  for (const argv of LEFT_TO_PARSER) {
    assert.equal(parseRunArgs(argv), undefined, JSON.stringify(argv));
  }
  // (and the full parser reports the errors: one example of each kind)
  assert.equal(full(["run", "--policy", "p.yaml"]), "missing required argument 'cmd'");
  assert.equal(full(["run", "--", "/bin/true"]), "required option '--policy <file>' not specified");
  assert.equal(
    full(["run", "--policy", "p", "--mode", "bogus", "cmd"]),
    "option '--mode <mode>' argument 'bogus' is invalid. Allowed choices are enforce, audit.",
  );
});
