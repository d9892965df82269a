/**
 * The policy format's cross-field rules (`./format/shape.ts`: `when`, `atMostOne`, `atLeastOne`, `exactlyOne`)
 * checked against what `_read.ts` read, each problem reported at the node the rule names.
 *
 * @module
 */

import type { Condition, Requirement, Rule, WhenRule } from "./format/mod.ts";
import { type Checker, describe, type Entry, join } from "./_checker.ts";
import { INVALID, ReadMap, ReadSeq } from "./_tree.ts";
import { pattern } from "./_pattern.ts";

/** What a path of a rule names: its entry when present, its value (or default), the mapping holding it. */
interface Found {
  entry: Entry | undefined;
  value: unknown;
  parent: ReadMap | undefined;
  path: string;
}

function lookup(from: ReadMap, at: string): Found {
  const keys = at.split(".");
  const last = keys.pop()!;
  let parent: ReadMap | undefined = from;
  let broken = false;
  for (const key of keys) {
    const next: unknown = parent?.get(key);
    parent = next instanceof ReadMap ? next : undefined;
    // A mapping with a problem of its own is not judged by another mapping's rules.
    broken ||= next === INVALID || (parent !== undefined && !parent.ok);
  }
  const entry = parent?.entry(last);
  return {
    entry,
    value: broken ? INVALID : parent?.get(last),
    parent,
    path: entry?.path ?? (parent ? join(parent.fields.path, last) : at),
  };
}

/** Whether a condition holds (`undefined`: cannot be told, a value on its path is wrong), and where. */
function evaluate(from: ReadMap, condition: Condition): { holds?: boolean; found?: Found } {
  const found = lookup(from, condition.at);
  if (found.value === INVALID && found.entry === undefined) return {}; // on a path through a broken mapping
  if ("present" in condition) {
    return { holds: (found.entry !== undefined) === condition.present, found };
  }
  if (found.value === INVALID) return {};
  if ("some" in condition) {
    if (!(found.value instanceof ReadSeq)) return { holds: false };
    for (const item of found.value.items) {
      if (!(item.value instanceof ReadMap)) continue;
      const inner = evaluate(item.value, condition.some);
      if (inner.holds) return inner;
    }
    return { holds: false };
  }
  if ("equals" in condition) return { holds: found.value === condition.equals, found };
  if ("notEquals" in condition) return { holds: found.value !== condition.notEquals, found };
  return { holds: condition.oneOf.includes(found.value), found };
}

/** Checks `rule` of the mapping `map`; `false` when it does not hold (reported). */
export function applyRule(c: Checker, rule: Rule, map: ReadMap): boolean {
  const present = (keys: readonly string[]) => keys.filter((key) => map.fields.entries.has(key));
  switch (rule.kind) {
    case "atMostOne": {
      const [, second] = present(rule.keys);
      if (second === undefined) return true;
      c.issue(map.entry(second)!.key, map.fields.path, rule.message);
      return false;
    }
    case "atLeastOne":
      if (present(rule.keys).length > 0) return true;
      c.issue(map.fields.node, map.fields.path, rule.message);
      return false;
    case "exactlyOne": {
      if (present(rule.keys).length === 1) return true;
      // Unknown or duplicate keys were reported already: the count is not the mistake to name then.
      if (map.fields.node.items.length === map.fields.entries.size) {
        c.issue(map.fields.node, map.fields.path, rule.message);
      }
      return false;
    }
    case "when":
      return applyWhen(c, rule, map);
  }
}

function applyWhen(c: Checker, rule: WhenRule, map: ReadMap): boolean {
  let first: Found | undefined;
  for (const condition of rule.when) {
    const { holds, found } = evaluate(map, condition);
    if (!holds) return true;
    first ??= found;
  }
  const target = lookup(map, rule.then.at);
  if (target.parent === undefined || target.value === INVALID) return true;
  const report = (entry: Entry | undefined, value: unknown, path: string) => {
    const where = {
      "when.key": first?.entry?.key,
      "when.value": first?.entry?.value,
      "then.key": entry?.key,
      "then.value": entry?.value,
      "then.parent": target.parent!.fields.node,
    }[rule.report.node];
    const message = rule.message({
      whenPath: first?.path ?? "",
      whenParent: first?.parent?.fields.path ?? "",
      whenValue: first?.value,
      thenPath: path,
      thenValue: value,
      thenText: entry ? describe(entry.value) : JSON.stringify(value),
    });
    c.issue(where, rule.report.path === "when" ? first?.path ?? "" : path, message);
  };
  return satisfies(rule.then, target, report);
}

function satisfies(
  requirement: Requirement,
  target: Found,
  report: (entry: Entry | undefined, value: unknown, path: string) => void,
): boolean {
  if ("keysIn" in requirement) {
    if (!(target.value instanceof ReadMap)) return true;
    let ok = true;
    for (const [key, entry] of target.value.fields.entries) {
      if (key === "" || requirement.keysIn.includes(key)) continue;
      report(entry, key, entry.path);
      ok = false;
    }
    return ok;
  }
  const present = target.entry !== undefined;
  let holds: boolean;
  if ("present" in requirement) holds = present === requirement.present;
  else if (!present) holds = true;
  else if ("equals" in requirement) holds = target.value === requirement.equals;
  else {holds = typeof target.value !== "string" ||
      pattern(requirement.matches).test(target.value);}
  if (!holds) report(target.entry, target.value, target.path);
  return holds;
}
