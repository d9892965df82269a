import assert from "node:assert/strict";
import { ExitCode, X00Error } from "../errors.ts";
import { parsePolicy } from "../policy/mod.ts";
import { EnvSecretSource, envSourceVariables } from "./env_source.ts";

const VAR = "X00_TEST_ENV_SOURCE_VALUE";

Deno.test("EnvSecretSource.fetch() returns the variable's UTF-8 bytes from X00's environment", async () => {
  Deno.env.set(VAR, "pässwörd");
  try {
    const source = new EnvSecretSource("api-token", { type: "env", var: VAR });
    assert.equal(source.name, "api-token");
    const secret = await source.fetch();
    assert.deepEqual([...secret.values.keys()], [""]);
    assert.deepEqual(secret.values.get(""), new TextEncoder().encode("pässwörd"));
  } finally {
    Deno.env.delete(VAR);
  }
});

Deno.test("EnvSecretSource.fetch() names the entry and the variable when it is not set", async () => {
  const source = new EnvSecretSource("api-token", { type: "env", var: "API_TOKEN" }, {
    getEnv: () => undefined,
  });
  await assert.rejects(source.fetch(), (error: unknown) => {
    assert.ok(error instanceof X00Error);
    assert.equal(error.exitCode, ExitCode.SECRET_UNAVAILABLE);
    assert.equal(
      error.message,
      "Cannot fetch secret 'api-token' as environment variable 'API_TOKEN' is not set",
    );
    return true;
  });
});

Deno.test("EnvSecretSource.fetch() rejects empty variables", async () => {
  const source = new EnvSecretSource("t", { type: "env", var: "T" }, { getEnv: () => "" });
  await assert.rejects(source.fetch(), (error: unknown) => {
    assert.ok(error instanceof X00Error);
    assert.equal(error.message, "Cannot fetch secret 't' as environment variable 'T' is empty");
    return true;
  });
});

Deno.test("EnvSecretSource.fetch() reports an unreadable environment without the value", async () => {
  const denied = new Deno.errors.NotCapable(
    'Requires env access to "T", run again with --allow-env',
  );
  const source = new EnvSecretSource("t", { type: "env", var: "T" }, {
    getEnv: () => {
      throw denied;
    },
  });
  await assert.rejects(source.fetch(), (error: unknown) => {
    assert.ok(error instanceof X00Error);
    assert.equal(error.exitCode, ExitCode.SECRET_UNAVAILABLE);
    assert.equal(
      error.message,
      "Cannot fetch secret 't' as environment variable 'T' cannot be read: " +
        'Requires env access to "T", run again with --allow-env',
    );
    assert.equal(error.cause, denied);
    return true;
  });
});

Deno.test("EnvSecretSource.fetch() rejects when already aborted", async () => {
  const controller = new AbortController();
  controller.abort(new Error("stopping"));
  const source = new EnvSecretSource("t", { type: "env", var: "T" }, { getEnv: () => "v" });
  await assert.rejects(source.fetch({ signal: controller.signal }), /stopping/);
});

Deno.test("envSourceVariables() lists the env-source variables once, in policy order", () => {
  const policy = parsePolicy(
    `policy: { mode: enforce }
secrets:
  - name: b
    source: { type: env, var: B_IN }
    delivery: { env: B }
  - name: f
    source: { type: file, path: /run/f }
    delivery: { env: F }
  - name: a
    source: { type: env, var: A_IN }
    delivery: { file: A_FILE }
  - name: a2
    source: { type: env, var: B_IN }
    delivery: { env: B_IN }
`,
    "x.yaml",
  );
  assert.deepEqual(envSourceVariables(policy.secrets), ["B_IN", "A_IN"]);
  assert.deepEqual(envSourceVariables([]), []);
});
