/**
 * The `secrets:` section: entries, sources (file, env, Vault) and deliveries (`delivery`, `keys`, `all_keys`),
 * with what every entry must not share with another (names, variables).
 *
 * @module
 */

import type { Delivery, PkiRequest, SecretSpec, Source } from "./types.ts";
import type { Checker, Entry } from "./_checker.ts";
import { ReadMap, ReadSeq, valid } from "./_read.ts";

/** Where a name or a variable was first used, for "already used by" messages. */
interface FirstUse {
  path: string;
  /** The value node, for messages about it. */
  node?: unknown;
}

/** What earlier entries of `secrets:` used. */
export interface Seen {
  names: Map<string, FirstUse>;
  vars: Map<string, FirstUse>;
  /** Entries without a delivery of their own (allowed when a template reads them). */
  undelivered: { node: unknown; path: string; name: string | undefined }[];
  /** `all_keys` prefixes. */
  prefixes: { prefix: string; path: string; node: unknown }[];
  /** Names of the secrets templates read. */
  readByTemplates: Set<string>;
  /** A template could not be parsed: which secrets templates read is not known. */
  templatesIncomplete?: boolean;
}

/** A fresh {@linkcode Seen}. */
export function newSeen(): Seen {
  return {
    names: new Map(),
    vars: new Map(),
    undelivered: [],
    prefixes: [],
    readByTemplates: new Set(),
  };
}

/** The entries of `secrets:`, with what no two may share (names, variables). */
export function buildSecrets(c: Checker, value: unknown, seen: Seen): SecretSpec[] | undefined {
  if (value === undefined) return [];
  if (!(value instanceof ReadSeq)) return undefined;
  const secrets: SecretSpec[] = [];
  for (const item of value.items) {
    if (!(item.value instanceof ReadMap)) continue;
    const secret = buildSecret(c, item.value, item.path, seen);
    if (secret !== undefined) secrets.push(secret);
  }
  return secrets.length === value.items.length ? secrets : undefined;
}

function buildSecret(c: Checker, map: ReadMap, path: string, seen: Seen): SecretSpec | undefined {
  const name = claimName(c, map, seen, "must be unique");
  let ok = name !== undefined;
  const source = map.get("source");
  const deliveries = new Map<string, Delivery>();
  const delivery = map.get("delivery");
  const keys = map.get("keys");
  const allKeys = map.get("all_keys");
  if (delivery === undefined && keys === undefined && allKeys === undefined) {
    // Allowed when a template reads it: checked once templates are known.
    seen.undelivered.push({ node: map.fields.node, path, name });
  }
  if (delivery instanceof ReadMap) {
    const d = claimDelivery(c, delivery, seen);
    const key = source instanceof ReadMap && source.get("type") === "vault"
      ? source.get("key")
      : "";
    if (d === undefined || typeof key !== "string") ok = false;
    else deliveries.set(key, d);
  }
  if (keys instanceof ReadMap) {
    for (const [key, value] of keys.values) {
      const d = value instanceof ReadMap ? claimDelivery(c, value, seen) : undefined;
      if (d === undefined) ok = false;
      else deliveries.set(key, d);
    }
  }
  let all: SecretSpec["all_keys"];
  if (allKeys instanceof ReadMap && allKeys.ok) {
    const kind = allKeys.get("env") !== undefined ? "env" : "file";
    const entry = allKeys.entry(kind)!;
    all = { kind, prefix: allKeys.get(kind) as string };
    seen.prefixes.push({ prefix: all.prefix, path: entry.path, node: entry.value });
  }
  if (!ok || !valid(map) || !(source instanceof ReadMap)) return undefined;
  return {
    name: name!,
    source: buildSource(source),
    deliveries,
    ...(all ? { all_keys: all } : {}),
  };
}

function buildSource(map: ReadMap): Source {
  const get = (key: string) => map.get(key) as string;
  switch (get("type")) {
    case "file":
      return { type: "file", path: get("path") };
    case "env":
      return { type: "env", var: get("var") };
  }
  const engine = get("engine") as "kv-v2" | "kv-v1" | "dynamic" | "pki";
  const key = map.get("key") as string | undefined;
  if (engine !== "pki") {
    const version = map.get("version") as number | undefined;
    return {
      type: "vault",
      engine,
      ...(engine !== "dynamic" ? { mount: get("mount") } : {}),
      path: get("path"),
      ...(version !== undefined ? { version } : {}),
      ...(key !== undefined ? { key } : {}),
    };
  }
  const pki: PkiRequest = {
    role: get("role"),
    common_name: get("common_name"),
    renew_fraction: map.get("renew_fraction") as number,
  };
  for (const names of ["alt_names", "ip_sans", "uri_sans"] as const) {
    const list = map.get(names);
    if (list instanceof ReadSeq) pki[names] = list.items.map((item) => item.value as string);
  }
  const ttl = map.get("ttl") as number | undefined;
  if (ttl !== undefined) pki.ttl_s = ttl / 1000;
  if (map.entry("exclude_cn_from_sans")) {
    pki.exclude_cn_from_sans = map.get("exclude_cn_from_sans") as boolean;
  }
  return {
    type: "vault",
    engine,
    mount: get("mount"),
    path: `issue/${pki.role}`,
    pki,
    ...(key !== undefined ? { key } : {}),
  };
}

/** A delivery (read and valid), with its variable claimed: no variable is delivered twice. */
export function claimDelivery(c: Checker, map: ReadMap, seen: Seen): Delivery | undefined {
  if (!map.ok) return undefined;
  const kind = map.get("env") !== undefined ? "env" : "file";
  const name = map.get(kind) as string;
  const entry: Entry = map.entry(kind)!;
  const first = seen.vars.get(name);
  if (first) {
    c.issue(
      entry.value,
      entry.path,
      `must not deliver a variable twice: ${
        JSON.stringify(name)
      } is already delivered by '${first.path}'`,
    );
    return undefined;
  }
  seen.vars.set(name, { path: entry.path, node: entry.value });
  return { kind, var: name };
}

/**
 * Claims the `name` of a secret or template entry in `seen` (secrets and templates share the names); a name
 * already claimed is reported with `unique` and where it was first used.
 */
export function claimName(
  c: Checker,
  map: ReadMap,
  seen: Seen,
  unique: string,
): string | undefined {
  const name = map.get("name");
  if (typeof name !== "string") return undefined;
  const first = seen.names.get(name);
  const entry = map.entry("name")!;
  if (first) {
    c.issue(
      entry.value,
      entry.path,
      `${unique}: ${JSON.stringify(name)} is already used by '${first.path}'`,
    );
  } else {
    seen.names.set(name, { path: map.fields.path });
  }
  return name;
}
