/**
 * Builds the values that `templates:` and `all_keys:` deliver from fetched secrets. Values stay bytes from the
 * fetch to the memfd: rendering copies bytes and applies the filters byte by byte, so no JavaScript string holds a
 * secret unless the delivery is an environment variable (an environment is strings).
 *
 * @module
 */
import { ExitCode, X00Error } from "../errors.ts";
import type { SecretSpec, TemplateSpec } from "../policy/types.ts";
import type { TemplateFilter } from "../policy/template.ts";
import type { FetchedSecret } from "./source.ts";

/**
 * The variable `all_keys` delivers key `key` to: `prefix` followed by the key in upper case, each character
 * outside `A-Z`, `0-9` and `_` replaced by `_` (`db-host` with prefix `DB_` is `DB_DB_HOST`).
 *
 * @example Usage
 * ```ts
 * import { allKeysVariable } from "./render.ts";
 * console.assert(allKeysVariable("APP_", "api.key") === "APP_API_KEY");
 * ```
 */
export function allKeysVariable(prefix: string, key: string): string {
  return prefix + key.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

/**
 * The variables an `all_keys` entry delivers, key -> variable.
 *
 * @throws {X00Error} Exit code 5 when the secret has no key, or two keys name the same variable.
 */
export function allKeysVariables(spec: SecretSpec, secret: FetchedSecret): Map<string, string> {
  const prefix = spec.all_keys?.prefix ?? "";
  const out = new Map<string, string>();
  const byVar = new Map<string, string>();
  for (const key of [...secret.values.keys()].sort()) {
    const name = allKeysVariable(prefix, key);
    const other = byVar.get(name);
    if (other !== undefined || key === "") {
      throw new X00Error(
        `Cannot deliver secret '${spec.name}' with all_keys: ` +
          (key === ""
            ? "it has an empty key"
            : `keys ${JSON.stringify(other)} and ${JSON.stringify(key)} both become ${name}`),
        { exitCode: ExitCode.SECRET_UNAVAILABLE },
      );
    }
    byVar.set(name, key);
    out.set(key, name);
  }
  if (out.size === 0) {
    throw new X00Error(`Cannot deliver secret '${spec.name}' with all_keys: it has no key`, {
      exitCode: ExitCode.SECRET_UNAVAILABLE,
    });
  }
  return out;
}

/**
 * Renders a template over fetched secrets. The caller zeroes the result once delivered.
 *
 * @throws {X00Error} Exit code 5 when a value is missing or a filter cannot apply (`json` and `url` need UTF-8).
 */
export function renderTemplate(
  template: TemplateSpec,
  fetched: ReadonlyMap<string, FetchedSecret>,
): Uint8Array {
  const enc = new TextEncoder();
  const pieces: Uint8Array[] = [];
  const temporary: Uint8Array[] = [];
  try {
    for (const part of template.parts) {
      if (part.kind === "text") {
        pieces.push(enc.encode(part.text));
        continue;
      }
      const value = fetched.get(part.secret)?.values.get(part.key);
      if (value === undefined) {
        throw new X00Error(
          `Cannot render template '${template.name}': secret '${part.secret}' has no key '${part.key}'`,
          { exitCode: ExitCode.SECRET_UNAVAILABLE },
        );
      }
      let v = value;
      for (const f of part.filters) {
        const next = applyFilter(f, v, template.name, part.secret);
        if (next !== v) temporary.push(next);
        v = next;
      }
      pieces.push(v);
    }
    const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of pieces) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  } finally {
    for (const t of temporary) t.fill(0);
  }
}

const HEX = "0123456789ABCDEF";
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

function applyFilter(
  filter: TemplateFilter,
  v: Uint8Array,
  template: string,
  secret: string,
): Uint8Array {
  switch (filter) {
    case "trim": {
      let a = 0;
      let b = v.length;
      while (a < b && isSpace(v[a]!)) a++;
      while (b > a && isSpace(v[b - 1]!)) b--;
      return v.slice(a, b);
    }
    case "url": {
      utf8(v, template, secret, filter);
      const out: number[] = [];
      for (const c of v) {
        if (isUnreserved(c)) out.push(c);
        else out.push(0x25, HEX.charCodeAt(c >> 4), HEX.charCodeAt(c & 15));
      }
      return bytes(out);
    }
    case "json": {
      utf8(v, template, secret, filter);
      const out: number[] = [0x22];
      for (const c of v) {
        if (c === 0x22 || c === 0x5c) out.push(0x5c, c);
        else if (c === 0x0a) out.push(0x5c, 0x6e);
        else if (c === 0x0d) out.push(0x5c, 0x72);
        else if (c === 0x09) out.push(0x5c, 0x74);
        else if (c < 0x20 || c === 0x7f) {
          out.push(0x5c, 0x75, 0x30, 0x30, HEX.charCodeAt(c >> 4), HEX.charCodeAt(c & 15));
        } else out.push(c);
      }
      out.push(0x22);
      return bytes(out);
    }
    case "base64": {
      const out: number[] = [];
      for (let i = 0; i < v.length; i += 3) {
        const n = (v[i]! << 16) | ((v[i + 1] ?? 0) << 8) | (v[i + 2] ?? 0);
        out.push(B64.charCodeAt((n >> 18) & 63), B64.charCodeAt((n >> 12) & 63));
        out.push(i + 1 < v.length ? B64.charCodeAt((n >> 6) & 63) : 0x3d);
        out.push(i + 2 < v.length ? B64.charCodeAt(n & 63) : 0x3d);
      }
      return bytes(out);
    }
  }
}

/** Copies into a Uint8Array and zeroes the scratch array. */
function bytes(a: number[]): Uint8Array {
  const out = Uint8Array.from(a);
  a.fill(0);
  return out;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

function isUnreserved(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

function utf8(v: Uint8Array, template: string, secret: string, filter: string): void {
  if (!isUtf8(v)) {
    throw new X00Error(
      `Cannot render template '${template}': the value of '${secret}' is not UTF-8 text, which '${filter}' needs`,
      { exitCode: ExitCode.SECRET_UNAVAILABLE },
    );
  }
}

/** Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF), checked without a string. */
export function isUtf8(v: Uint8Array): boolean {
  for (let i = 0; i < v.length;) {
    const c = v[i]!;
    let n: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) [n, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [n, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [n, min] = [3, 0x10000];
    else return false;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const b = v[i + k];
      if (b === undefined || (b & 0xc0) !== 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}
