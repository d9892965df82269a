/**
 * Checks YAML against the policy format (`./format/mod.ts`) and reads it: every key, type, pattern,
 * requiredness, default and cross-field rule comes from the format, every problem is reported through the
 * {@linkcode Checker} at its line and column. What a read produces is a tree of {@linkcode ReadMap},
 * {@linkcode ReadSeq} and plain values, which the section builders (`_check_*.ts`) turn into the typed
 * {@linkcode Policy}.
 *
 * @module
 */

import { isScalar, isSeq } from "yaml";
import { parseDuration } from "../duration.ts";
import { keysOf, type ObjectShape, type Shape, type UnionShape } from "./format/mod.ts";
import { accountId, type Checker, type Entry, type Fields } from "./_checker.ts";
import { applyRule } from "./_rules.ts";
import { INVALID, ReadMap, ReadSeq, valid } from "./_tree.ts";
import { pattern } from "./_pattern.ts";

export { INVALID, ReadMap, ReadSeq, valid };

/** The value an absent key has (its default), or `undefined`. */
export function defaultOf(shape: Shape): unknown {
  switch (shape.kind) {
    case "duration":
      return shape.default === undefined ? undefined : parseDuration(shape.default);
    case "string":
    case "enum":
    case "boolean":
    case "integer":
    case "number":
      return shape.default;
    default:
      return undefined;
  }
}

/** The values of an absent mapping: every key's default. */
export function defaultsOf(shape: ObjectShape): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const [key, field] of Object.entries(shape.fields)) {
    const value = defaultOf(field.shape);
    if (value !== undefined) values.set(key, value);
  }
  return values;
}

/** Reads the value of `entry` as `shape`. */
export function read(c: Checker, shape: Shape, entry: Entry): unknown {
  const node = entry.value;
  if (node === undefined) return INVALID; // an unknown anchor, already reported
  switch (shape.kind) {
    case "object":
      return readObject(c, shape, entry);
    case "union":
      return readUnion(c, shape, entry, undefined, []);
    case "sequence": {
      if (!isSeq(node) || (shape.minItems && node.items.length === 0)) {
        c.invalid(entry, shape.expected);
        return INVALID;
      }
      const items = node.items.map((raw, index) => {
        const path = `${entry.path}[${index}]`;
        const item = c.resolve(raw, path);
        return { node: item, path, value: read(c, shape.items, { key: item, value: item, path }) };
      });
      return new ReadSeq(entry, items, items.every((item) => valid(item.value)));
    }
    case "map": {
      const fields = c.mapping(node, entry.path, null);
      if (fields === undefined) return INVALID;
      if (fields.entries.size === 0) {
        c.invalid(entry, shape.expected);
        return INVALID;
      }
      const values = new Map<string, unknown>();
      let ok = true;
      for (const [key, e] of fields.entries) {
        if (key === "") {
          c.issue(e.key, e.path, `must name ${shape.keyName}: current key is empty`);
          ok = false;
          continue;
        }
        const value = read(c, shape.values, e);
        values.set(key, value);
        ok &&= valid(value);
      }
      return new ReadMap(fields, values, ok);
    }
    default:
      return readScalar(c, shape, entry);
  }
}

function readScalar(c: Checker, shape: Shape, entry: Entry): unknown {
  switch (shape.kind) {
    case "string": {
      const expected = shape.expected ?? "a non-empty string";
      const value = c.scalar(entry, "string", expected);
      if (value === undefined) return INVALID;
      const wrong = value === "" ||
        (shape.pattern !== undefined && !pattern(shape.pattern, "u").test(value)) ||
        (shape.values !== undefined && !shape.values.includes(value));
      if (!wrong) return value;
      c.invalid(entry, expected, shape.credential?.(value) ?? false);
      return INVALID;
    }
    case "enum": {
      const expected = `one of ${shape.values.map((v) => JSON.stringify(v)).join(", ")}`;
      const value = c.scalar(entry, "string", expected);
      if (value === undefined) return INVALID;
      if (shape.values.includes(value)) return value;
      c.invalid(entry, expected);
      return INVALID;
    }
    case "boolean":
      return c.scalar(entry, "boolean", "a boolean (true or false)") ?? INVALID;
    case "integer": {
      const value = c.scalar(entry, "number", shape.expected);
      if (value === undefined) return INVALID;
      if (Number.isSafeInteger(value) && value >= shape.minimum) return value;
      c.invalid(entry, shape.expected);
      return INVALID;
    }
    case "number": {
      const value = c.scalar(entry, "number", shape.expected);
      if (value === undefined) return INVALID;
      if (value > shape.exclusiveMinimum && value < shape.exclusiveMaximum) return value;
      c.invalid(entry, shape.expected);
      return INVALID;
    }
    case "duration": {
      const expected = shape.expected ?? "a duration such as 500ms, 10s, 5m, 1h or 1m30s";
      const text = c.scalar(entry, "string", expected);
      if (text === undefined) return INVALID;
      const ms = parseDuration(text);
      let wrong: string | undefined;
      if (ms === undefined || (shape.wholeSeconds && ms % 1000 !== 0)) wrong = expected;
      else if (ms < shape.minMs) wrong = shape.expected ?? `at least ${formatMs(shape.minMs)}`;
      else if (ms > shape.maxMs) wrong = shape.expected ?? `at most ${formatMs(shape.maxMs)}`;
      if (wrong === undefined) return ms;
      c.invalid(entry, wrong);
      return INVALID;
    }
    case "account":
      return accountId(c, entry.value, entry.path, shape.names) ?? INVALID;
    case "capability": {
      const node = entry.value;
      if (isScalar(node) && typeof node.value === "string") {
        const full = node.value.startsWith("CAP_") ? node.value : `CAP_${node.value}`;
        if (shape.names.includes(full)) return full;
      }
      c.invalid(entry, "a capability name such as CAP_NET_BIND_SERVICE");
      return INVALID;
    }
    default:
      throw new TypeError(`not a scalar shape: ${shape.kind}`);
  }
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function readObject(
  c: Checker,
  shape: ObjectShape,
  entry: Entry,
  checked?: Fields,
  why = "",
): ReadMap | typeof INVALID {
  const fields = checked ?? c.mapping(entry.value, entry.path, keysOf(shape));
  if (fields === undefined) return INVALID;
  const values = new Map<string, unknown>();
  let ok = true;
  const standIns = new Set<string>();
  for (const [key, misnamed] of Object.entries(shape.misnamed ?? {})) {
    const e = fields.entries.get(key);
    if (e === undefined) continue;
    c.issue(e.key, e.path, misnamed.message);
    standIns.add(misnamed.for);
    ok = false;
  }
  for (const [key, field] of Object.entries(shape.fields)) {
    const e = fields.entries.get(key);
    if (e === undefined) {
      if (field.required && !standIns.has(key)) {
        c.missing(fields, key, field.required === "variant" ? why : "");
        ok = false;
      }
      const value = defaultOf(field.shape);
      if (value !== undefined) values.set(key, value);
      continue;
    }
    const value = read(c, field.shape, e);
    values.set(key, value);
    ok &&= valid(value);
  }
  const result = new ReadMap(fields, values, ok);
  for (const rule of shape.rules ?? []) {
    if (applyRule(c, rule, result)) continue;
    result.ok = false;
    // A wrong count (two forms where one is allowed) is the mistake to name: the rules after it would only
    // name it again.
    if (rule.kind !== "when") break;
  }
  return result;
}

function readUnion(
  c: Checker,
  shape: UnionShape,
  entry: Entry,
  checked: Fields | undefined,
  outer: readonly string[],
): ReadMap | typeof INVALID {
  const fields = checked ?? c.mapping(entry.value, entry.path, keysOf(shape));
  if (fields === undefined) return INVALID;
  const key = shape.discriminator;
  const e = fields.entries.get(key);
  const values = Object.keys(shape.variants);
  const tag = e === undefined ? undefined : read(c, { kind: "enum", values }, e);
  if (e === undefined) c.missing(fields, key);
  if (typeof tag !== "string") return new ReadMap(fields, new Map([[key, INVALID]]), false);
  const variant = shape.variants[tag]!;
  const discriminators = [...outer, key];
  c.onlyAllowed(fields, [...keysOf(variant), ...discriminators], `for ${shape.label} "${tag}"`);
  const result = variant.kind === "union"
    ? readUnion(c, variant, entry, fields, discriminators)
    : readObject(c, variant, entry, fields, ` for ${shape.label} "${tag}"`);
  if (result === INVALID) return INVALID;
  result.values.set(key, tag);
  return result;
}
