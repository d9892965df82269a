/**
 * The JSON Schema (draft 2020-12) of the policy file, for editors (yaml-language-server, VS Code's YAML
 * extension) and for other tools. `x00 policy schema` prints it.
 *
 * It is derived from the policy format (`./format/mod.ts`), the same description the loader checks against, so
 * the two cannot disagree on a key, a type, a default or a cross-field rule. What JSON Schema cannot say is
 * checked only by the loader: unique names, a variable delivered once, templates, and duplicate YAML keys.
 *
 * @module
 */

import {
  ACCOUNT_NAME_PATTERN,
  type Condition,
  DURATION_PATTERN,
  type JsonSchema,
  MAX_ID,
  type ObjectShape,
  POLICY,
  type Requirement,
  type Rule,
  type Shape,
  type UnionShape,
} from "./format/mod.ts";

export type { JsonSchema };

type Defs = Record<string, JsonSchema>;

/** `{ description }` when there is one. */
const described = (description: string | undefined): JsonSchema =>
  description ? { description } : {};

const withDefault = (value: unknown): JsonSchema => value === undefined ? {} : { default: value };

function formatMs(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 1000}s`;
}

function toSchema(shape: Shape, defs: Defs, consts: Record<string, string> = {}): JsonSchema {
  switch (shape.kind) {
    case "string":
      return {
        ...described(shape.description),
        type: "string",
        ...(shape.values
          ? { enum: shape.values }
          : shape.pattern
          ? { pattern: shape.pattern }
          : { minLength: 1 }),
        ...withDefault(shape.default),
      };
    case "enum":
      return { ...described(shape.description), enum: shape.values, ...withDefault(shape.default) };
    case "boolean":
      return { ...described(shape.description), type: "boolean", ...withDefault(shape.default) };
    case "integer":
      return {
        ...described(shape.description),
        type: "integer",
        minimum: shape.minimum,
        ...withDefault(shape.default),
      };
    case "number":
      return {
        ...described(shape.description),
        type: "number",
        exclusiveMinimum: shape.exclusiveMinimum,
        exclusiveMaximum: shape.exclusiveMaximum,
        ...withDefault(shape.default),
      };
    case "duration":
      return {
        description:
          `${shape.description} A duration: 500ms, 10s, 5m, 1h or a combination such as 1m30s (${
            shape.wholeSeconds ? "whole seconds, " : ""
          }at most ${formatMs(shape.maxMs)}).`,
        type: "string",
        pattern: DURATION_PATTERN,
        ...withDefault(shape.default),
      };
    case "account": {
      const id = { type: "integer", minimum: 0, maximum: MAX_ID };
      if (!shape.names) return { ...described(shape.description), ...id };
      return {
        ...described(shape.description),
        oneOf: [{ type: "string", pattern: ACCOUNT_NAME_PATTERN }, id],
      };
    }
    case "capability":
      return {
        ...described(shape.description),
        type: "string",
        pattern: `^(?:CAP_)?(?:${shape.names.map((n) => n.slice(4)).join("|")})$`,
      };
    case "sequence":
      return {
        ...described(shape.description),
        type: "array",
        items: toSchema(shape.items, defs),
        ...(shape.minItems ? { minItems: shape.minItems } : {}),
        ...(shape.defaultEmpty ? { default: [] } : {}),
      };
    case "map":
      return {
        ...described(shape.description),
        type: "object",
        minProperties: 1,
        propertyNames: { minLength: 1 },
        additionalProperties: toSchema(shape.values, defs),
      };
    case "object":
      return named(shape.name, defs, () => objectSchema(shape, defs, consts));
    case "union":
      return named(shape.name, defs, () => unionSchema(shape, defs, consts));
  }
}

function named(name: string | undefined, defs: Defs, build: () => JsonSchema): JsonSchema {
  if (name === undefined) return build();
  if (!(name in defs)) {
    defs[name] = {}; // reserved: a shape may refer to itself
    defs[name] = build();
  }
  return { $ref: `#/$defs/${name}` };
}

function objectSchema(shape: ObjectShape, defs: Defs, consts: Record<string, string>): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [key, value] of Object.entries(consts)) properties[key] = { const: value };
  const required = Object.keys(consts);
  for (const [key, field] of Object.entries(shape.fields)) {
    properties[key] = toSchema(field.shape, defs);
    if (field.required) required.push(key);
  }
  const rules = (shape.rules ?? []).map((rule) => ruleSchema(rule, Object.keys(properties)));
  return {
    description: shape.description,
    type: "object",
    additionalProperties: false,
    ...(required.length > 0 ? { required } : {}),
    properties,
    ...(rules.length > 0 ? { allOf: rules } : {}),
  };
}

function unionSchema(shape: UnionShape, defs: Defs, consts: Record<string, string>): JsonSchema {
  const key = shape.discriminator;
  return {
    description: shape.description,
    type: "object",
    required: [key],
    properties: {
      [key]: { description: shape.discriminatorDescription, enum: Object.keys(shape.variants) },
    },
    allOf: Object.entries(shape.variants).map(([value, variant]) => ({
      if: nest(key.split("."), { const: value }),
      then: toSchema(variant, defs, { ...consts, [key]: value }),
    })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Rules

function ruleSchema(rule: Rule, keys: readonly string[]): JsonSchema {
  const description = rule.description;
  switch (rule.kind) {
    case "atMostOne":
      return {
        description,
        not: {
          anyOf: rule.keys.flatMap((a, i) =>
            rule.keys.slice(i + 1).map((b) => ({ required: [a, b] }))
          ),
        },
      };
    case "atLeastOne":
      return { description, anyOf: rule.keys.map((key) => ({ required: [key] })) };
    case "exactlyOne":
      return keys.every((key) => rule.keys.includes(key))
        ? { description, minProperties: 1, maxProperties: 1 }
        : { description, oneOf: rule.keys.map((key) => ({ required: [key] })) };
    case "when": {
      const conditions = rule.when.map(conditionSchema);
      return {
        description,
        if: conditions.length === 1 ? conditions[0] : { allOf: conditions },
        then: requirementSchema(rule.then),
      };
    }
  }
}

/** `{ type: object, required: [a], properties: { a: ... { b: leaf } } }`: the value at `a.b` exists and is `leaf`. */
function nest(path: readonly string[], leaf: JsonSchema): JsonSchema {
  const [key, ...rest] = path;
  return {
    type: "object",
    required: [key],
    properties: { [key!]: rest.length === 0 ? leaf : nest(rest, leaf) },
  };
}

function conditionSchema(condition: Condition): JsonSchema {
  const path = condition.at.split(".");
  if ("present" in condition) {
    const schema = nest(path, {});
    return condition.present ? schema : { not: schema };
  }
  if ("equals" in condition) return nest(path, { const: condition.equals });
  if ("notEquals" in condition) return { not: nest(path, { const: condition.notEquals }) };
  if ("oneOf" in condition) return nest(path, { enum: condition.oneOf });
  return nest(path, { type: "array", contains: conditionSchema(condition.some) });
}

/** The requirement, which only applies when the mappings on its path exist. */
function requirementSchema(requirement: Requirement): JsonSchema {
  const path = requirement.at.split(".");
  const last = path.pop()!;
  let schema: JsonSchema;
  if ("present" in requirement) {
    schema = requirement.present ? { required: [last] } : { properties: { [last]: false } };
  } else if ("equals" in requirement) {
    schema = { properties: { [last]: { const: requirement.equals } } };
  } else if ("matches" in requirement) {
    schema = { properties: { [last]: { type: "string", pattern: requirement.matches } } };
  } else {
    schema = {
      properties: { [last]: { type: "object", propertyNames: { enum: requirement.keysIn } } },
    };
  }
  for (const key of path.reverse()) {
    schema = { properties: { [key]: { type: "object", ...schema } } };
  }
  return schema;
}

function buildSchema(): JsonSchema {
  const defs: Defs = {};
  const root = toSchema(POLICY, defs);
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "X00 policy",
    ...root,
    $defs: defs,
  };
}

/**
 * The JSON Schema of the policy file.
 *
 * @example Usage
 * ```ts
 * import { policySchema } from "./schema.ts";
 *
 * await Deno.writeTextFile("x00-policy.schema.json", JSON.stringify(policySchema, null, 2) + "\n");
 * ```
 */
export const policySchema: JsonSchema = buildSchema();
