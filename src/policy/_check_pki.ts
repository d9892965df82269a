/**
 * Vault sources with `engine: pki`: the `pki/issue` parameters and the keys of its answer.
 *
 * @module
 */

import { isMap, isScalar } from "yaml";
import {
  DEFAULTS,
  MAX_PKI_TTL_MS,
  parseDuration,
  PKI_KEYS,
  PKI_ROLE_PATTERN,
  PKI_SOURCE_KEYS,
} from "./_spec.ts";
import type { PkiRequest, VaultSource } from "./types.ts";
import {
  booleanField,
  Checker,
  describe,
  type Entry,
  type Fields,
  join,
  sequenceField,
  stringField,
  suggest,
  VAULT_PATH,
} from "./_checker.ts";

/** Vault's role names (`framework.GenericNameRegex`). */
const PKI_ROLE = {
  pattern: PKI_ROLE_PATTERN,
  expected: "a PKI role name (letters, digits, '_', '-' and '.')",
};

export function checkPkiSource(c: Checker, fields: Fields): VaultSource | undefined {
  c.onlyAllowed(fields, ["type", "engine", "mount", "key", ...PKI_SOURCE_KEYS], `for engine "pki"`);
  const why = ` for engine "pki"`;
  const mount = stringField(c, fields, "mount", { ...VAULT_PATH, required: true, why });
  const role = stringField(c, fields, "role", { ...PKI_ROLE, required: true, why });
  const commonName = stringField(c, fields, "common_name", { required: true, why });
  const key = stringField(c, fields, "key");
  let ok = mount !== undefined && role !== undefined && commonName !== undefined &&
    (key !== undefined || !fields.entries.has("key"));
  if (key !== undefined && !(PKI_KEYS as readonly string[]).includes(key)) {
    c.invalid(
      fields.entries.get("key")!,
      `one of the keys of Vault's pki/issue answer (${PKI_KEYS.join(", ")})`,
    );
    ok = false;
  }
  const names = (name: string): string[] | undefined => {
    const list = sequenceField(c, fields, name, "a sequence of names", (item, path) => {
      if (item === undefined) return undefined;
      if (isScalar(item) && typeof item.value === "string" && /^[^,\s]+$/.test(item.value)) {
        return item.value;
      }
      c.issue(
        item,
        path,
        `must be a non-empty string without ',' or spaces: current value is ${describe(item)}`,
      );
      return undefined;
    });
    if (list === null) return undefined;
    if (list === undefined) ok = false;
    return list;
  };
  const altNames = names("alt_names");
  const ipSans = names("ip_sans");
  const uriSans = names("uri_sans");
  let ttlS: number | undefined;
  const ttlEntry = fields.entries.get("ttl");
  if (ttlEntry !== undefined) {
    const expected =
      "a duration of whole seconds such as 90s, 72h or 720h (at least 1s, at most 87600h)";
    const text = c.scalar(ttlEntry, "string", expected);
    const ms = text === undefined ? undefined : parseDuration(text);
    if (ms === undefined || ms < 1000 || ms % 1000 !== 0 || ms > MAX_PKI_TTL_MS) {
      if (text !== undefined) c.invalid(ttlEntry, expected);
      ok = false;
    } else {
      ttlS = ms / 1000;
    }
  }
  const exclude = booleanField(c, fields, "exclude_cn_from_sans");
  ok &&= exclude !== undefined || !fields.entries.has("exclude_cn_from_sans");
  let fraction: number = DEFAULTS.renew_fraction;
  const fractionEntry = fields.entries.get("renew_fraction");
  if (fractionEntry !== undefined) {
    const expected = "a number between 0 and 1, both excluded, such as 0.5 or 0.75";
    const value = c.scalar(fractionEntry, "number", expected);
    if (value === undefined || !(value > 0 && value < 1)) {
      if (value !== undefined) c.invalid(fractionEntry, expected);
      ok = false;
    } else {
      fraction = value;
    }
  }
  if (!ok || mount === undefined || role === undefined || commonName === undefined) {
    return undefined;
  }
  const pki: PkiRequest = { role, common_name: commonName, renew_fraction: fraction };
  if (altNames !== undefined) pki.alt_names = altNames;
  if (ipSans !== undefined) pki.ip_sans = ipSans;
  if (uriSans !== undefined) pki.uri_sans = uriSans;
  if (ttlS !== undefined) pki.ttl_s = ttlS;
  if (exclude !== undefined) pki.exclude_cn_from_sans = exclude;
  return {
    type: "vault",
    engine: "pki",
    mount,
    path: `issue/${role}`,
    pki,
    ...(key !== undefined ? { key } : {}),
  };
}

/** Reports every key of an `engine: pki` entry's `keys:` that Vault's pki/issue answer does not have. */
export function checkPkiKeys(c: Checker, keysEntry: Entry): boolean {
  if (!isMap(keysEntry.value)) return true; // reported by checkSecret
  let ok = true;
  for (const pair of keysEntry.value.items) {
    const key = c.resolve(pair.key, keysEntry.path);
    if (!isScalar(key) || typeof key.value !== "string" || key.value === "") continue;
    if ((PKI_KEYS as readonly string[]).includes(key.value)) continue;
    c.issue(
      key,
      join(keysEntry.path, key.value),
      `is not a key of Vault's pki/issue answer: ${suggest(key.value, PKI_KEYS)}`,
    );
    ok = false;
  }
  return ok;
}
