/**
 * The `x00 run` fast path (src/cli/run_args.ts) against commander: whatever the fast path accepts, commander parses
 * to the same options; the common forms are accepted; everything else is left to commander.
 */
import assert from "node:assert/strict";
import { buildCli } from "../../src/cli/main.ts";
import { parseRunArgs, type RunArgs } from "../../src/cli/run_args.ts";

/** What commander makes of `argv`: the run action's arguments, or the error code. */
async function commander(argv: string[]): Promise<RunArgs | string> {
  let got: RunArgs | undefined;
  const program = buildCli(() => {}, {
    run: (a) => {
      got = a;
      return Promise.resolve(0);
    },
  });
  const quiet = { writeOut: () => {}, writeErr: () => {}, outputError: () => {} };
  program.configureOutput(quiet);
  for (const c of program.commands) c.configureOutput(quiet);
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return got ?? "no action";
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

const LEFT_TO_COMMANDER: string[][] = [
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

Deno.test("parseRunArgs() accepts the common forms, and commander parses them the same", async () => {
  for (const argv of ACCEPTED) {
    const fast = parseRunArgs(argv);
    assert.ok(fast, `accepted: ${JSON.stringify(argv)}`);
    assert.deepEqual(fast, await commander(argv), JSON.stringify(argv));
  }
});

Deno.test("parseRunArgs() leaves everything else to commander", async () => {
  for (const argv of LEFT_TO_COMMANDER) {
    assert.equal(parseRunArgs(argv), undefined, JSON.stringify(argv));
  }
  // (and commander still reports the errors: one example of each kind)
  assert.equal(await commander(["run", "--policy", "p.yaml"]), "commander.missingArgument");
  assert.equal(
    await commander(["run", "--", "/bin/true"]),
    "commander.missingMandatoryOptionValue",
  );
  assert.equal(
    await commander(["run", "--policy", "p", "--mode", "bogus", "cmd"]),
    "commander.invalidArgument",
  );
});
