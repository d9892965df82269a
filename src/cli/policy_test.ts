import assert from "node:assert/strict";
import { runPolicyCheck, runPolicySchema } from "./policy.ts";
import { policySchema } from "../policy/schema.ts";

/** Runs `fn` with console.log/error captured. */
async function capture<T>(fn: () => T | Promise<T>) {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...args: unknown[]) => out.push(args.join(" "));
  console.error = (...args: unknown[]) => err.push(args.join(" "));
  try {
    const result = await fn();
    return { result, out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

async function withFile(text: string, fn: (file: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/p.yaml`, text);
    await fn(`${dir}/p.yaml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("runPolicyCheck() prints a summary and returns 0 for a valid policy", async () => {
  const file = new URL("../../examples/policy.yaml", import.meta.url).pathname;
  const { result, out, err } = await capture(() => runPolicyCheck(file));
  assert.equal(result, 0);
  assert.deepEqual(out, [`${file}: ok (4 secrets, mode enforce)`]);
  assert.deepEqual(err, []);
});

Deno.test("runPolicyCheck() says '1 secret' for one secret", async () => {
  const file = new URL("../../examples/minimal.yaml", import.meta.url).pathname;
  const { out } = await capture(() => runPolicyCheck(file));
  assert.deepEqual(out, [`${file}: ok (1 secret, mode enforce)`]);
});

Deno.test("runPolicyCheck() prints every error line to stderr and returns 2", async () => {
  await withFile("policy:\n  mode: enforced\n  block_ptrac: true\n", async (file) => {
    const { result, out, err } = await capture(() => runPolicyCheck(file));
    assert.equal(result, 2);
    assert.deepEqual(out, []);
    assert.deepEqual(err, [
      `${file}:2:9: Cannot load policy as 'policy.mode' must be one of "enforce", "audit": ` +
      `current value is "enforced"`,
      `${file}:3:3: Cannot load policy as 'policy.block_ptrac' is not a known key: ` +
      "did you mean 'block_ptrace'?",
    ]);
  });
});

Deno.test("runPolicyCheck() prints one line for a missing file and returns 2", async () => {
  const { result, err } = await capture(() => runPolicyCheck("/nonexistent/x00.yaml"));
  assert.equal(result, 2);
  assert.deepEqual(err, [
    "/nonexistent/x00.yaml: Cannot load policy as the file cannot be read: " +
    "No such file or directory (os error 2)",
  ]);
});

Deno.test("runPolicySchema() prints the schema as indented JSON and returns 0", async () => {
  const { result, out } = await capture(() => runPolicySchema());
  assert.equal(result, 0);
  assert.equal(out.length, 1);
  assert.deepEqual(JSON.parse(out[0]!), policySchema);
  assert.ok(out[0]!.startsWith('{\n  "$schema": "https://json-schema.org/draft/2020-12/schema"'));
});
