/**
 * The vocabulary the policy format is written in: shapes (what a value may be, with its description and default)
 * and rules (what one value requires of another). The format itself is `./mod.ts`; from it `../schema.ts`
 * derives the JSON Schema and `../_read.ts` the checker, so a type, a requiredness, a default or a cross-field
 * rule is stated once.
 *
 * @module
 */

/** A JSON Schema object. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** What a value of the policy may be. */
export type Shape =
  | StringShape
  | EnumShape
  | BooleanShape
  | IntegerShape
  | NumberShape
  | DurationShape
  | AccountShape
  | CapabilityShape
  | SequenceShape
  | ObjectShape
  | UnionShape
  | MapShape;

interface Described {
  /** Shown by editors; every key of the format has one. */
  description?: string;
}

/** A string: non-empty, matching `pattern` or one of `values` when given. */
export interface StringShape extends Described {
  kind: "string";
  pattern?: string;
  /** The only values allowed (with `expected` naming them). */
  values?: readonly string[];
  /** Completes "must be ..." in messages. Default: "a non-empty string". */
  expected?: string;
  /** Whether an invalid value may be a credential pasted in place of a path: it is then not repeated. */
  credential?: (value: string) => boolean;
  default?: string;
}

/** One of a closed list of strings; messages list them. */
export interface EnumShape extends Described {
  kind: "enum";
  values: readonly string[];
  default?: string;
}

/** `true` or `false`. */
export interface BooleanShape extends Described {
  kind: "boolean";
  default?: boolean;
}

/** A safe integer of at least `minimum`. */
export interface IntegerShape extends Described {
  kind: "integer";
  minimum: number;
  expected: string;
  default?: number;
}

/** A number strictly between two bounds. */
export interface NumberShape extends Described {
  kind: "number";
  exclusiveMinimum: number;
  exclusiveMaximum: number;
  expected: string;
  default?: number;
}

/** A duration such as `1m30s`, read as milliseconds. */
export interface DurationShape extends Described {
  kind: "duration";
  /** Smallest accepted value (ms). */
  minMs: number;
  /** Largest accepted value (ms). */
  maxMs: number;
  /** Whole seconds only. */
  wholeSeconds?: boolean;
  /** One message for every kind of wrong value (else: the duration forms, "at least", "at most"). */
  expected?: string;
  /** In the policy's notation, e.g. `10s`. */
  default?: string;
}

/** A uid or gid, or also (with `names`) a user or group name. */
export interface AccountShape extends Described {
  kind: "account";
  names: boolean;
}

/** A capability name, with or without `CAP_`; read as `CAP_NAME`. */
export interface CapabilityShape extends Described {
  kind: "capability";
  /** Every capability name, `CAP_` included. */
  names: readonly string[];
}

/** A YAML sequence. */
export interface SequenceShape extends Described {
  kind: "sequence";
  items: Shape;
  /** Completes "must be ..." when the value is not a sequence (or is empty with `minItems`). */
  expected: string;
  minItems?: 1;
  /** When absent: `[]`. */
  defaultEmpty?: boolean;
}

/** A key of a mapping. */
export interface Field {
  shape: Shape;
  /** `variant`: required, and the message names the variant ("... for engine "pki""). */
  required?: boolean | "variant";
}

/** A key X00 refuses with a hint: another tool's name for one of the mapping's keys. */
export interface Misnamed {
  /** The key it stands for: that key is then not also reported as missing. */
  for: string;
  /** Completes `'PATH' ...`. */
  message: string;
}

/** A closed mapping: only the keys of `fields`. */
export interface ObjectShape extends Described {
  kind: "object";
  /** Its name under `$defs` in the schema. Unnamed objects are written inline. */
  name?: string;
  fields: Readonly<Record<string, Field>>;
  rules?: readonly Rule[];
  misnamed?: Readonly<Record<string, Misnamed>>;
}

/** A mapping whose `discriminator` key selects one of `variants` (an object, or a union of its own). */
export interface UnionShape extends Described {
  kind: "union";
  name: string;
  discriminator: string;
  /** Describes the discriminator key. */
  discriminatorDescription: string;
  /** Names the variant in messages: `is not allowed for LABEL "VALUE"`. */
  label: string;
  variants: Readonly<Record<string, ObjectShape | UnionShape>>;
}

/** A mapping of any non-empty keys, each to a value of `values`. */
export interface MapShape extends Described {
  kind: "map";
  values: Shape;
  /** Completes "must be ..." when it is empty. */
  expected: string;
  /** Completes "must name ...: current key is empty". */
  keyName: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Rules: what one value requires of another. Paths are dotted key paths from the mapping the rule belongs to.

/** A condition on the values of a mapping. */
export type Condition =
  | { at: string; present: boolean }
  | { at: string; equals: unknown }
  | { at: string; notEquals: unknown }
  | { at: string; oneOf: readonly unknown[] }
  /** Some item of the sequence at `at` satisfies `where` (paths in `where` are relative to the item). */
  | { at: string; some: Condition };

/** What a rule requires once its conditions hold. */
export type Requirement =
  | { at: string; present: boolean }
  | { at: string; equals: unknown }
  | { at: string; matches: string }
  /** Every key of the mapping at `at` is one of `values`. */
  | { at: string; keysIn: readonly string[] };

/** Where a rule's message is reported: a node and the field path named. */
export interface Report {
  /** `when.key`/`when.value`: the first condition's key or value; `then.*` the requirement's. `then.parent` is
   * the mapping that should hold the required key. */
  node: "when.key" | "when.value" | "then.key" | "then.value" | "then.parent";
  path: "when" | "then";
}

/** What a message is made from. */
export interface RuleContext {
  /** Path of the first condition's value (the matching item's, for `some`). */
  whenPath: string;
  /** Path of the mapping that holds it. */
  whenParent: string;
  /** Its value. */
  whenValue: unknown;
  /** Path of the requirement's value. */
  thenPath: string;
  /** Its value (the default when absent). */
  thenValue: unknown;
  /** Its value as messages show it ("current value is ..."). */
  thenText: string;
}

/** A cross-field rule: when every condition holds, the requirement must. */
export interface WhenRule {
  kind: "when";
  description: string;
  when: readonly Condition[];
  then: Requirement;
  report: Report;
  /** Completes `'PATH' ...`. */
  message: (context: RuleContext) => string;
}

/** At most, at least or exactly one of `keys`. */
export interface CountRule {
  kind: "atMostOne" | "atLeastOne" | "exactlyOne";
  description: string;
  keys: readonly string[];
  /** Completes `'PATH' ...` (PATH: the mapping). */
  message: string;
}

/** A rule of a mapping. */
export type Rule = WhenRule | CountRule;

// ---------------------------------------------------------------------------------------------------------------
// Constructors, so the format reads as a description.

/** A string field. */
export const string = (
  description: string,
  options: Omit<StringShape, "kind"> = {},
): StringShape => ({
  kind: "string",
  description,
  ...options,
});

/** An enum field. */
export const oneOf = (
  description: string,
  values: readonly string[],
  defaultValue?: string,
): EnumShape => ({
  kind: "enum",
  description,
  values,
  ...(defaultValue !== undefined ? { default: defaultValue } : {}),
});

/** A boolean field. */
export const boolean = (description: string, defaultValue?: boolean): BooleanShape => ({
  kind: "boolean",
  description,
  ...(defaultValue !== undefined ? { default: defaultValue } : {}),
});

/** A sequence field. */
export const sequence = (
  description: string | undefined,
  items: Shape,
  expected: string,
  options: Pick<SequenceShape, "minItems" | "defaultEmpty"> = {},
): SequenceShape => ({
  kind: "sequence",
  ...(description !== undefined ? { description } : {}),
  items,
  expected,
  ...options,
});

/** A closed mapping. */
export const object = (
  name: string | undefined,
  description: string,
  fields: Record<string, Shape | Field>,
  options: Pick<ObjectShape, "rules" | "misnamed"> = {},
): ObjectShape => ({
  kind: "object",
  ...(name !== undefined ? { name } : {}),
  description,
  fields: Object.fromEntries(
    Object.entries(fields).map(([key, f]) => [key, "shape" in f ? f : { shape: f }]),
  ),
  ...options,
});

/** A required key. */
export const required = (shape: Shape, how: true | "variant" = true): Field => ({
  shape,
  required: how,
});

/**
 * Every key a mapping of this shape may hold (for a union: of every variant, and its discriminator), in the
 * order messages list them: the format's keys, then the misnamed ones.
 */
export function keysOf(shape: ObjectShape | UnionShape): string[] {
  const keys = new Set<string>();
  const misnamed = new Set<string>();
  const visit = (s: ObjectShape | UnionShape) => {
    if (s.kind === "object") {
      for (const key of Object.keys(s.fields)) keys.add(key);
      for (const key of Object.keys(s.misnamed ?? {})) misnamed.add(key);
      return;
    }
    keys.add(s.discriminator);
    for (const variant of Object.values(s.variants)) visit(variant);
  };
  visit(shape);
  return [...keys, ...misnamed];
}
