/**
 * What reading a policy produces: read mappings and sequences (with their YAML positions) and the mark of a value
 * that was reported as wrong.
 *
 * @module
 */

import type { Entry, Fields } from "./_checker.ts";

/** A value that was reported as wrong. */
export const INVALID: unique symbol = Symbol("invalid");

/** A mapping that was read: its keys (with positions) and the values read from them. */
export class ReadMap {
  constructor(
    readonly fields: Fields,
    readonly values: Map<string, unknown>,
    /** No problem was reported in it or below it. */
    public ok: boolean,
  ) {}

  /** The value of `key`: read, its default when absent, {@linkcode INVALID}, or `undefined`. */
  get(key: string): unknown {
    return this.values.get(key);
  }

  /** The YAML entry of `key` when present. */
  entry(key: string): Entry | undefined {
    return this.fields.entries.get(key);
  }
}

/** A sequence that was read. */
export class ReadSeq {
  constructor(
    readonly entry: Entry,
    readonly items: { node: unknown; path: string; value: unknown }[],
    public ok: boolean,
  ) {}
}

/** Whether a read value holds no reported problem. */
export function valid(value: unknown): boolean {
  if (value === INVALID) return false;
  if (value instanceof ReadMap || value instanceof ReadSeq) return value.ok;
  return true;
}
