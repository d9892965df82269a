import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import { isMap, isScalar, isSeq, parse, parseDocument } from "yaml";
import { type JsonSchema, policySchema } from "./schema.ts";
import { type ObjectShape, POLICY, type Shape } from "./format/mod.ts";
import { parsePolicy, PolicyError } from "./mod.ts";
import { INVALID_CASES, VALID_CASES } from "./testdata/policy_cases.ts";

const EXAMPLES = new URL("../../examples/", import.meta.url);
const EXAMPLE_FILES = ["policy.yaml", "vault-approle.yaml", "vault-pki.yaml", "minimal.yaml"];

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
const validate = ajv.compile(policySchema);

function accepts(value: unknown): boolean {
  return validate(value) === true;
}

function keysOf(schema: JsonSchema): string[] {
  return Object.keys(schema.properties as Record<string, unknown>).sort();
}

Deno.test("policySchema closes every mapping and lists the keys the format gives it", () => {
  const defs = policySchema.$defs as Record<string, JsonSchema>;
  const closed = (name: string, shape: ObjectShape, discriminators: string[]) => {
    const schema = defs[name];
    assert.ok(schema, `no $defs.${name}`);
    assert.equal(schema.additionalProperties, false, `${name} must be closed`);
    assert.deepEqual(
      keysOf(schema),
      [...discriminators, ...Object.keys(shape.fields)].sort(),
      name,
    );
  };
  const visit = (shape: Shape, discriminators: string[] = []): void => {
    if (shape.kind === "sequence") return visit(shape.items);
    if (shape.kind === "map") return visit(shape.values);
    if (shape.kind === "union") {
      for (const variant of Object.values(shape.variants)) {
        visit(variant, [...discriminators, shape.discriminator]);
      }
      return;
    }
    if (shape.kind !== "object") return;
    if (shape.name !== undefined) closed(shape.name, shape, discriminators);
    for (const field of Object.values(shape.fields)) visit(field.shape);
  };
  visit(POLICY);
  assert.deepEqual(keysOf(policySchema), Object.keys(POLICY.fields).sort());
  assert.ok(
    Object.keys(defs).length >= 20,
    "every section, source, engine and auth method has a definition",
  );
});

Deno.test("policySchema and the loader agree on thousands of mutated policies", async () => {
  // Every valid case, with each value replaced by values of other types and each key removed: a policy the
  // schema rejects is one the loader rejects, and one the loader accepts is one the schema accepts.
  const replacements = [
    "[1]",
    "{a: 1}",
    "zz",
    "-1",
    "true",
    "''",
    "/abs",
    "http://h",
    "pki",
    "signal",
  ];
  let compared = 0;
  const examples = await Promise.all(
    EXAMPLE_FILES.map(async (file) => ({ yaml: await Deno.readTextFile(new URL(file, EXAMPLES)) })),
  );
  for (const c of [...VALID_CASES, ...examples]) {
    const paths: (string | number)[][] = [];
    const walk = (node: unknown, at: (string | number)[]) => {
      if (isMap(node)) {
        for (const pair of node.items) {
          const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
          paths.push([...at, key]);
          walk(pair.value, [...at, key]);
        }
      } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...at, i]));
    };
    walk(parseDocument(c.yaml).contents, []);
    for (const path of paths) {
      for (const replacement of [undefined, ...replacements]) {
        const doc = parseDocument(c.yaml);
        if (replacement === undefined) doc.deleteIn(path);
        else doc.setIn(path, parseDocument(replacement).contents);
        let text: string;
        try {
          text = String(doc);
        } catch {
          continue; // an alias whose anchor was removed
        }
        let loaderAccepts = true;
        try {
          parsePolicy(text, "x.yaml");
        } catch (error) {
          if (!(error instanceof PolicyError)) throw error;
          loaderAccepts = false;
        }
        const schemaAccepts = accepts(parse(text));
        if (loaderAccepts) {
          assert.ok(schemaAccepts, `the schema rejects what the loader accepts:\n${text}`);
        }
        if (!schemaAccepts) {
          assert.ok(!loaderAccepts, `the loader accepts what the schema rejects:\n${text}`);
        }
        compared++;
      }
    }
  }
  assert.ok(compared > 3000, `only ${compared} policies compared`);
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
