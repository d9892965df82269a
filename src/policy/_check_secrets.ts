/**
 * The `secrets:` section: entries, sources (file, env, Vault) and deliveries (`delivery`, `keys`, `all_keys`),
 * with what every entry must not share with another (names, variables).
 *
 * @module
 */

import { isMap, isSeq, type YAMLMap } from "yaml";
import { ENGINES, KEYS, SECRET_NAME_PATTERN, SOURCE_TYPES } from "./_spec.ts";
import type { Delivery, SecretSpec, Source, VaultSource } from "./types.ts";
import {
  ABSOLUTE_PATH,
  Checker,
  type Entry,
  enumField,
  ENV_NAME,
  type Fields,
  integerField,
  stringField,
  VAULT_PATH,
} from "./_checker.ts";
import { checkPkiKeys, checkPkiSource } from "./_check_pki.ts";

// ---------------------------------------------------------------------------------------------------------------
// Secrets

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
  /** The `type` node and path of every Vault source. */
  vaultSources: { node: unknown; path: string }[];
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
    vaultSources: [],
    undelivered: [],
    prefixes: [],
    readByTemplates: new Set(),
  };
}

export function checkSecrets(
  c: Checker,
  entry: Entry | undefined,
  hasVault: boolean,
  seen: Seen,
): SecretSpec[] | undefined {
  if (entry === undefined) return [];
  const node = entry.value;
  if (node === undefined) return undefined;
  if (!isSeq(node)) {
    c.invalid(entry, "a sequence of secret entries");
    return undefined;
  }
  const secrets: SecretSpec[] = [];
  node.items.forEach((item, index) => {
    const path = `${entry.path}[${index}]`;
    const secret = checkSecret(c, c.resolve(item, path), path, seen);
    if (secret !== undefined) secrets.push(secret);
  });
  const firstVault = seen.vaultSources[0];
  if (firstVault !== undefined && !hasVault) {
    c.issue(firstVault.node, "vault", `is required because '${firstVault.path}' is a Vault source`);
  }
  return secrets.length === node.items.length ? secrets : undefined;
}

function checkSecret(
  c: Checker,
  node: unknown,
  path: string,
  seen: Seen,
): SecretSpec | undefined {
  const fields = c.mapping(node, path, KEYS.secret);
  if (fields === undefined) return undefined;

  const name = claimName(
    c,
    fields,
    seen,
    "a secret name (letters, digits, '_', '.' and '-', starting with a letter or digit)",
    "must be unique",
  );

  const sourceEntry = fields.entries.get("source");
  if (sourceEntry === undefined) c.missing(fields, "source");
  const source = sourceEntry === undefined ? undefined : checkSource(c, sourceEntry, seen);

  const deliveryEntry = fields.entries.get("delivery");
  const keysEntry = fields.entries.get("keys");
  const deliveries = new Map<string, Delivery>();
  let complete = source !== undefined && name !== undefined;

  const allKeysEntry = fields.entries.get("all_keys");
  let allKeys: SecretSpec["all_keys"];
  const forms = [deliveryEntry, keysEntry, allKeysEntry].filter((e) => e !== undefined);
  if (forms.length > 1) {
    c.issue(
      forms[1]!.key,
      path,
      `must have one of 'delivery', 'keys' or 'all_keys', not several`,
    );
    complete = false;
  } else if (forms.length === 0) {
    // Allowed when a template reads it: checked once templates are known.
    seen.undelivered.push({ node: fields.node, path, name });
  } else if (allKeysEntry) {
    if (source !== undefined && source.spec.type !== "vault") {
      c.issue(
        allKeysEntry.key,
        allKeysEntry.path,
        `is only allowed for Vault sources: current source type is ${
          JSON.stringify(source.spec.type)
        }`,
      );
      complete = false;
    } else if (source?.spec.type === "vault" && source.spec.key !== undefined) {
      const keyEntry = source.fields.entries.get("key")!;
      c.issue(
        keyEntry.key,
        keyEntry.path,
        `is not allowed with 'all_keys' (every key is delivered)`,
      );
      complete = false;
    }
    const d = checkDelivery(
      c,
      allKeysEntry,
      new Map(),
      "a variable name prefix such as DB_",
      KEYS.all_keys,
    );
    if (d === undefined) complete = false;
    else {
      allKeys = { kind: d.kind, prefix: d.var };
      const node = (allKeysEntry.value as YAMLMap).get(d.kind, true);
      seen.prefixes.push({ prefix: d.var, path: `${allKeysEntry.path}.${d.kind}`, node });
    }
  } else if (deliveryEntry) {
    const delivery = checkDelivery(c, deliveryEntry, seen.vars);
    let key = "";
    if (source?.spec.type === "vault") {
      if (source.spec.key === undefined) {
        c.issue(
          source.fields.node,
          `${source.fields.path}.key`,
          `is required for a Vault source with 'delivery' (it names the key to deliver)`,
        );
        complete = false;
      } else {
        key = source.spec.key;
      }
    }
    if (delivery === undefined) complete = false;
    else deliveries.set(key, delivery);
  } else if (keysEntry) {
    if (source !== undefined && source.spec.type !== "vault") {
      c.issue(
        keysEntry.key,
        keysEntry.path,
        `is only allowed for Vault sources: current source type is ${
          JSON.stringify(source.spec.type)
        }`,
      );
      complete = false;
    } else {
      if (source?.spec.type === "vault" && source.spec.key !== undefined) {
        const keyEntry = source.fields.entries.get("key")!;
        c.issue(
          keyEntry.key,
          keyEntry.path,
          `is not allowed with 'keys' (each key of '${keysEntry.path}' names a Vault key)`,
        );
        complete = false;
      }
      const keys = c.mapping(keysEntry.value, keysEntry.path, null);
      if (keys === undefined) {
        complete = false;
      } else if (keys.entries.size === 0) {
        c.invalid(keysEntry, "a mapping of at least one Vault key to its delivery");
        complete = false;
      } else {
        for (const [key, keyEntry] of keys.entries) {
          if (key === "") {
            c.issue(keyEntry.key, keyEntry.path, "must name a Vault key: current key is empty");
            complete = false;
            continue;
          }
          const delivery = checkDelivery(c, keyEntry, seen.vars);
          if (delivery === undefined) complete = false;
          else deliveries.set(key, delivery);
        }
      }
    }
  }
  if (keysEntry && isMap(sourceEntry?.value) && sourceEntry.value.get("engine") === "pki") {
    complete = checkPkiKeys(c, keysEntry) && complete;
  }
  if (!complete || source === undefined || name === undefined) return undefined;
  return { name, source: source.spec, deliveries, ...(allKeys ? { all_keys: allKeys } : {}) };
}

const ALL_SOURCE_KEYS = [...new Set(Object.values(KEYS.source).flat())];

function checkSource(
  c: Checker,
  entry: Entry,
  seen: Seen,
): { spec: Source; fields: Fields } | undefined {
  const fields = c.mapping(entry.value, entry.path, ALL_SOURCE_KEYS);
  if (fields === undefined) return undefined;
  const type = enumField(c, fields, "type", SOURCE_TYPES, { required: true });
  if (type === undefined) return undefined;
  if (type === "vault") {
    seen.vaultSources.push({ node: fields.entries.get("type")!.value, path: entry.path });
  }
  c.onlyAllowed(fields, KEYS.source[type], `for source type "${type}"`);
  switch (type) {
    case "file": {
      const path = stringField(c, fields, "path", { ...ABSOLUTE_PATH, required: true });
      return path === undefined ? undefined : { spec: { type, path }, fields };
    }
    case "env": {
      const name = stringField(c, fields, "var", { ...ENV_NAME, required: true });
      return name === undefined ? undefined : { spec: { type, var: name }, fields };
    }
    case "vault": {
      const spec = checkVaultSource(c, fields);
      return spec === undefined ? undefined : { spec, fields };
    }
  }
}

function checkVaultSource(c: Checker, fields: Fields): VaultSource | undefined {
  const engine = enumField(c, fields, "engine", ENGINES, { required: true });
  if (engine === "pki") return checkPkiSource(c, fields);
  const path = stringField(c, fields, "path", { ...VAULT_PATH, required: true });
  const key = stringField(c, fields, "key");
  let ok = engine !== undefined && path !== undefined;
  let mount: string | undefined;
  let version: number | undefined;
  if (engine === "dynamic") {
    c.onlyAllowed(fields, ["type", "engine", "path", "key"], `for engine "dynamic"`);
  } else if (engine !== undefined) {
    mount = stringField(c, fields, "mount", {
      ...VAULT_PATH,
      required: true,
      why: ` for engine "${engine}"`,
    });
    ok &&= mount !== undefined;
    if (engine === "kv-v2") {
      c.onlyAllowed(
        fields,
        ["type", "engine", "mount", "path", "key", "version"],
        `for engine "kv-v2"`,
      );
      version = integerField(c, fields, "version", 1, "a positive integer");
      ok &&= version !== undefined || !fields.entries.has("version");
    } else {
      c.onlyAllowed(fields, ["type", "engine", "mount", "path", "key"], `for engine "kv-v1"`);
    }
  }
  if (!ok || engine === undefined || path === undefined) return undefined;
  if (fields.entries.has("key") && key === undefined) return undefined;
  return {
    type: "vault",
    engine,
    ...(mount !== undefined ? { mount } : {}),
    path,
    ...(version !== undefined ? { version } : {}),
    ...(key !== undefined ? { key } : {}),
  };
}

export function checkDelivery(
  c: Checker,
  entry: Entry,
  vars: Map<string, FirstUse>,
  expected = ENV_NAME.expected,
  known: readonly string[] = KEYS.delivery,
): Delivery | undefined {
  const fields = c.mapping(entry.value, entry.path, known);
  if (fields === undefined) return undefined;
  const kinds = [...fields.entries.keys()] as ("env" | "file")[];
  if (kinds.length !== 1) {
    if (fields.node.items.length === kinds.length) {
      c.issue(
        fields.node,
        entry.path,
        `must have exactly one of 'env' (the value in a variable) or 'file' (a sealed memfd)`,
      );
    }
    return undefined;
  }
  const kind = kinds[0]!;
  const name = stringField(c, fields, kind, { ...ENV_NAME, expected });
  if (name === undefined) return undefined;
  const varEntry = fields.entries.get(kind)!;
  const first = vars.get(name);
  if (first) {
    c.issue(
      varEntry.value,
      varEntry.path,
      `must not deliver a variable twice: ${
        JSON.stringify(name)
      } is already delivered by '${first.path}'`,
    );
    return undefined;
  }
  vars.set(name, { path: varEntry.path, node: varEntry.value });
  return { kind, var: name };
}

/**
 * Reads the `name` of a secret or template entry and claims it in `seen` (secrets and templates share the names);
 * a name already claimed is reported with `unique` and where it was first used.
 */
export function claimName(
  c: Checker,
  fields: Fields,
  seen: Seen,
  expected: string,
  unique: string,
): string | undefined {
  const name = stringField(c, fields, "name", {
    required: true,
    pattern: SECRET_NAME_PATTERN,
    expected,
  });
  if (name === undefined) return undefined;
  const first = seen.names.get(name);
  const nameEntry = fields.entries.get("name")!;
  if (first) {
    c.issue(
      nameEntry.value,
      nameEntry.path,
      `${unique}: ${JSON.stringify(name)} is already used by '${first.path}'`,
    );
  } else {
    seen.names.set(name, { path: fields.path });
  }
  return name;
}
