import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { type JsonSchema, policySchema } from "./schema.ts";
import { KEYS } from "./_spec.ts";
import { INVALID_CASES, VALID_CASES } from "./testdata/policy_cases.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url);
const EXAMPLE_FILES = ["policy.yaml", "vault-approle.yaml", "vault-pki.yaml", "minimal.yaml"];

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
const validate = ajv.compile(policySchema);

function accepts(value: unknown): boolean {
  return validate(value) === true;
}

function def(name: string): JsonSchema {
  const defs = policySchema.$defs as Record<string, JsonSchema>;
  const schema = defs[name];
  assert.ok(schema, `no $defs.${name}`);
  return schema;
}

function keysOf(schema: JsonSchema): string[] {
  return Object.keys(schema.properties as Record<string, unknown>).sort();
}

Deno.test("policySchema lists exactly the keys the loader accepts", () => {
  const expected: [string, JsonSchema, readonly string[]][] = [
    ["root", policySchema, KEYS.root],
    ["policy", def("policy"), KEYS.policy],
    ["foreign_bpf_allow", def("foreign_bpf_allow"), KEYS.foreign_bpf_allow],
    ["workload", def("workload"), KEYS.workload],
    ["client", def("client"), KEYS.client],
    ["secret", def("secret"), KEYS.secret],
    ["file_source", def("file_source"), KEYS.source.file],
    ["env_source", def("env_source"), KEYS.source.env],
    ["vault_source", def("vault_source"), KEYS.source.vault],
    ["delivery", def("delivery"), KEYS.delivery],
    ["all_keys", def("all_keys"), KEYS.all_keys],
    ["template", def("template"), KEYS.template],
    ["audit", def("audit"), KEYS.audit],
    ["rotation", def("rotation"), KEYS.rotation],
    ["vault", def("vault"), KEYS.vault],
    ["token_auth", def("token_auth"), KEYS.auth.token],
    ["approle_auth", def("approle_auth"), KEYS.auth.approle],
    ["kubernetes_auth", def("kubernetes_auth"), KEYS.auth.kubernetes],
    ["jwt_auth", def("jwt_auth"), KEYS.auth.jwt],
    ["cert_auth", def("cert_auth"), KEYS.auth.cert],
  ];
  for (const [name, schema, keys] of expected) {
    assert.deepEqual(keysOf(schema), [...keys].sort(), `keys of ${name}`);
    assert.equal(schema.additionalProperties, false, `${name} must be closed`);
  }
  // The two dispatchers only name the discriminator; every closed definition is checked above.
  assert.deepEqual(keysOf(def("source")), ["type"]);
  assert.deepEqual(keysOf(def("auth")), ["method"]);
  const checked = new Set([...expected.map(([name]) => name), "source", "auth"]);
  for (const name of Object.keys(policySchema.$defs as object)) {
    assert.ok(checked.has(name), `$defs.${name} is not compared with the loader's keys`);
  }
});

Deno.test("policySchema describes every key", () => {
  const missing: string[] = [];
  const visit = (schema: unknown, path: string) => {
    if (typeof schema !== "object" || schema === null) return;
    const properties = (schema as JsonSchema).properties as Record<string, JsonSchema> | undefined;
    for (const [key, property] of Object.entries(properties ?? {})) {
      const isConst = typeof property === "object" && "const" in property;
      const isRef = typeof property === "object" && "$ref" in property;
      if (!isConst && !isRef && typeof property?.description !== "string") {
        missing.push(`${path}.${key}`);
      }
    }
  };
  visit(policySchema, "root");
  for (const [name, schema] of Object.entries(policySchema.$defs as object)) {
    visit(schema, name);
    if (typeof (schema as JsonSchema).description !== "string") missing.push(`$defs.${name}`);
  }
  assert.deepEqual(missing, []);
});

for (const file of EXAMPLE_FILES) {
  Deno.test(`policySchema accepts examples/${file}`, async () => {
    const text = await Deno.readTextFile(new URL(file, EXAMPLES));
    assert.ok(
      text.startsWith("# yaml-language-server: $schema=./policy.schema.json\n"),
      "examples point editors at the schema",
    );
    assert.ok(accepts(parse(text)), JSON.stringify(validate.errors, null, 2));
  });
}

for (const c of VALID_CASES) {
  Deno.test(`policySchema accepts ${c.title}`, () => {
    assert.ok(accepts(parse(c.yaml)), JSON.stringify(validate.errors, null, 2));
  });
}

for (const c of INVALID_CASES.filter((c) => c.schema !== "skip")) {
  const verb = c.schema === "rejects" ? "rejects" : "cannot express the loader's rule on";
  Deno.test(`policySchema ${verb} ${c.title}`, () => {
    assert.equal(accepts(parse(c.yaml)), c.schema === "accepts");
  });
}

Deno.test("examples/policy.schema.json is the current policySchema", async () => {
  const committed = await Deno.readTextFile(new URL("policy.schema.json", EXAMPLES));
  assert.equal(
    committed,
    JSON.stringify(policySchema, null, 2) + "\n",
    "regenerate it with: deno run -A mod.ts policy schema > examples/policy.schema.json",
  );
});
