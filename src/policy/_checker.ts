/**
 * The policy checker's machinery: YAML nodes with their positions, the `Cannot load policy as 'PATH' ...`
 * messages (with "did you mean"), mappings with known keys.
 *
 * @module
 */

import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Scalar,
  type YAMLError,
  type YAMLMap,
} from "yaml";
import { type PolicyIssue } from "./errors.ts";
import { suggest } from "./suggest.ts";
export { suggest };
import { ACCOUNT_NAME_PATTERN, MAX_ID } from "./format/values.ts";
import type { AccountId } from "./types.ts";
import { pattern } from "./_pattern.ts";

// ---------------------------------------------------------------------------------------------------------------
// The checker: positions, messages, mappings and scalars

/** A mapping that passed the key checks: known, string, unique keys. */
export interface Fields {
  node: YAMLMap;
  path: string;
  entries: Map<string, Entry>;
}

/** One key of a checked mapping. */
export interface Entry {
  /** The key node (for a sequence item: the item). */
  key: unknown;
  /** The value node with aliases resolved; `null` when the pair has no value node. */
  value: unknown;
  path: string;
}

export class Checker {
  readonly issues: PolicyIssue[] = [];
  readonly #file: string;
  readonly #lineCounter: LineCounter;
  readonly #doc: Document;

  readonly #text: string;

  constructor(file: string, lineCounter: LineCounter, doc: Document, text: string) {
    this.#file = file;
    this.#lineCounter = lineCounter;
    this.#doc = doc;
    this.#text = text;
  }

  /**
   * Reports `message` at offset `at` of a string scalar's value: exact for plain and quoted one-line scalars
   * without escapes and for literal block scalars (`|`), else at the scalar's start.
   */
  issueInScalar(node: Scalar, at: number, path: string, message: string): void {
    this.issueAt(scalarOffset(node, at, this.#text), path, message);
  }

  issueAt(offset: number, path: string, message: string): void {
    const { line, col } = this.#lineCounter.linePos(offset);
    this.issues.push({ file: this.#file, line, column: col, path, message });
  }

  /** Reports `Cannot load policy as 'PATH' WHAT` at a node. */
  issue(node: unknown, path: string, what: string): void {
    this.issueAt(offsetOf(node), path, `Cannot load policy as ${label(path)} ${what}`);
  }

  yamlIssue(error: YAMLError): void {
    const text = error.code === "MULTIPLE_DOCS"
      ? "a policy file must contain exactly one YAML document"
      : error.message.replace(/\s+/g, " ").trim();
    this.issueAt(error.pos[0], "", `Cannot load policy as the YAML is invalid: ${text}`);
  }

  /** Resolves an alias to the node it refers to; reports unknown anchors. */
  resolve(node: unknown, path: string): unknown {
    if (!isAlias(node)) return node ?? null;
    const target = node.resolve(this.#doc);
    if (target === undefined) {
      this.issue(node, path, `refers to an unknown anchor: current value is *${node.source}`);
      return undefined;
    }
    return target;
  }

  /**
   * Checks that a node is a mapping whose keys are unique strings from `known` (any string when `known` is
   * `null`). Unknown and duplicate keys are reported and left out.
   */
  mapping(node: unknown, path: string, known: readonly string[] | null): Fields | undefined {
    if (node === undefined) return undefined; // already reported by resolve()
    if (!isMap(node)) {
      this.issue(node, path, `must be a mapping: current value is ${describe(node)}`);
      return undefined;
    }
    const entries = new Map<string, Entry>();
    for (const pair of node.items) {
      const key = this.resolve(pair.key, path);
      if (!isScalar(key) || typeof key.value !== "string") {
        if (key !== undefined) {
          this.issue(key, path, `must have string keys: current key is ${describe(key)}`);
        }
        continue;
      }
      const name = key.value;
      const childPath = join(path, name);
      const first = entries.get(name);
      if (first !== undefined) {
        const { line, col } = this.#lineCounter.linePos(offsetOf(first.key));
        this.issue(key, childPath, `is defined twice: first at line ${line}, column ${col}`);
        continue;
      }
      if (known !== null && !known.includes(name)) {
        this.issue(key, childPath, `is not a known key: ${suggest(name, known)}`);
        continue;
      }
      const value = this.resolve(pair.value, childPath);
      entries.set(name, { key, value, path: childPath });
    }
    return { node, path, entries };
  }

  /** Reports every present key of `fields` that is not in `allowed`, with `why` appended. */
  onlyAllowed(fields: Fields, allowed: readonly string[], why: string): void {
    for (const [name, entry] of fields.entries) {
      if (!allowed.includes(name)) this.issue(entry.key, entry.path, `is not allowed ${why}`);
    }
  }

  /** Reports a missing required key at its mapping. */
  missing(fields: Fields, name: string, why = ""): void {
    this.issue(fields.node, join(fields.path, name), `is required${why}`);
  }

  /** A scalar value of the given JavaScript type, or `undefined` (reported) when it has another type. */
  scalar<T extends "string" | "boolean" | "number">(
    entry: Entry,
    type: T,
    expected: string,
  ): (T extends "string" ? string : T extends "boolean" ? boolean : number) | undefined {
    const node = entry.value;
    if (node === undefined) return undefined;
    if (isScalar(node) && typeof node.value === type) {
      return node.value as T extends "string" ? string : T extends "boolean" ? boolean : number;
    }
    this.issue(node, entry.path, `must be ${expected}: current value is ${describe(node)}`);
    return undefined;
  }

  /** Reports `must be EXPECTED: current value is VALUE` for an entry. */
  invalid(entry: Entry, expected: string, hideValue = false): void {
    const current = hideValue ? "hidden as it may be a credential" : describe(entry.value);
    this.issue(
      entry.value,
      entry.path,
      `must be ${expected}: current value is ${current}`,
    );
  }
}

function scalarOffset(node: Scalar, at: number, text: string): number {
  const [start, end] = node.range ?? [0, 0];
  const value = String(node.value);
  const raw = text.slice(start, end);
  if (node.type === "PLAIN" && raw === value) return start + at;
  if (
    (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE") && raw.slice(1, -1) === value
  ) {
    return start + 1 + at;
  }
  if (node.type === "BLOCK_LITERAL") {
    const before = value.slice(0, at).split("\n");
    const line = before.length - 1;
    const column = before[line]!.length;
    const lines = raw.split("\n"); // [header, content lines...]
    const indent = Math.min(
      ...lines.slice(1).filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length),
    );
    if (line + 1 < lines.length && Number.isFinite(indent)) {
      let offset = start;
      for (let i = 0; i <= line; i++) offset += lines[i]!.length + 1;
      return offset + indent + column;
    }
  }
  return start;
}

export function offsetOf(node: unknown): number {
  if (typeof node === "object" && node !== null && "range" in node) {
    const range = (node as { range?: [number, number, number] | null }).range;
    if (range) return range[0];
  }
  return 0;
}

function label(path: string): string {
  return path === "" ? "the document" : `'${path}'`;
}

export function join(path: string, key: string): string {
  const part = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (path === "") return part;
  return part.startsWith("[") ? `${path}${part}` : `${path}.${part}`;
}

/** Describes a node for "current value is ...": scalars as YAML-ish literals, collections by kind. */
export function describe(node: unknown): string {
  if (node === null || node === undefined) return "null";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a sequence";
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return "null";
    if (typeof value === "string") {
      return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
    }
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    return `a value tagged ${node.tag ?? typeof value}`;
  }
  return "an unsupported node";
}

/** A uid or gid: a number, or (with `names`) a user or group name. */
export function accountId(
  c: Checker,
  node: unknown,
  path: string,
  names: boolean,
): AccountId | undefined {
  if (node === undefined) return undefined;
  const expected = names
    ? "a name or a number from 0 to 4294967294"
    : "a number from 0 to 4294967294";
  if (isScalar(node)) {
    const value = node.value;
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= MAX_ID) {
      return value;
    }
    if (names && typeof value === "string" && pattern(ACCOUNT_NAME_PATTERN).test(value)) {
      return value;
    }
  }
  c.issue(node, path, `must be ${expected}: current value is ${describe(node)}`);
  return undefined;
}
