/**
 * The template syntax of `templates[].template`: text with `{{ ... }}` actions that insert a value of a secret of
 * the policy, optionally through filters. It has no code, no conditions, no loops and no functions beyond the
 * filters below: a template can only arrange values the policy already delivers.
 *
 * ```text
 * postgres://{{ db:username }}:{{ db:password | url }}@db.internal:5432/app
 * ```
 *
 * - `{{ NAME }}`: the value of secret `NAME` (a `file` or `env` source, or a Vault entry with `delivery`).
 * - `{{ NAME:KEY }}`: key `KEY` of Vault secret `NAME`; a key with spaces or `|`, `}` is quoted:
 *   `{{ NAME:"my key" }}`.
 * - `{{ "TEXT" }}`: the literal text (`{{ "{{" }}` writes `{{`); `\"` and `\\` are the only escapes.
 * - Filters, applied left to right: `trim` (ASCII white space at both ends), `json` (a JSON string literal, quotes
 *   included), `url` (percent-encoding of every byte outside RFC 3986's unreserved set), `base64`.
 *
 * Parsing reports the offset of each problem inside the template so the policy loader can name its line and column.
 *
 * @module
 */

/** The filters an action may apply. */
export const TEMPLATE_FILTERS = ["trim", "json", "url", "base64"] as const;

/** One filter. */
export type TemplateFilter = typeof TEMPLATE_FILTERS[number];

/** A piece of a parsed template. */
export type TemplatePart =
  /** Literal text. */
  | { kind: "text"; text: string }
  /** A value: `key` is `""` for a single-value secret. `offset` is where the action starts in the template. */
  | { kind: "value"; secret: string; key: string; filters: TemplateFilter[]; offset: number };

/** A syntax error at `offset` (UTF-16 code units from the start of the template). */
export interface TemplateSyntaxError {
  offset: number;
  message: string;
}

const NAME = /[A-Za-z0-9][A-Za-z0-9_.-]*/y;
const FILTER = /[a-z0-9]+/y;
const BARE_KEY = /[^\s|}"]+/y;

/**
 * Parses a template.
 *
 * @example Usage
 * ```ts
 * import { parseTemplate } from "./template.ts";
 * const r = parseTemplate("user={{ db:username }} pass={{ db:password | url }}");
 * console.assert(r.ok && r.parts.length === 4);
 * ```
 */
export function parseTemplate(
  text: string,
): { ok: true; parts: TemplatePart[] } | { ok: false; error: TemplateSyntaxError } {
  const parts: TemplatePart[] = [];
  let literal = "";
  let i = 0;
  const fail = (offset: number, message: string) => ({
    ok: false as const,
    error: { offset, message },
  });
  while (i < text.length) {
    const open = text.indexOf("{{", i);
    if (open === -1) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, open);
    let p = skipSpace(text, open + 2);
    let inserted: TemplatePart | { kind: "literal"; text: string };
    if (text[p] === '"') {
      const s = quoted(text, p);
      if (!s.ok) return fail(s.offset, s.message);
      inserted = { kind: "literal", text: s.value };
      p = s.end;
    } else {
      NAME.lastIndex = p;
      const name = NAME.exec(text);
      if (name === null) {
        return fail(
          p,
          text.startsWith("}}", p)
            ? "an empty action: write {{ NAME }} or {{ NAME:KEY }}"
            : `expected a secret name after '{{': found ${excerpt(text, p)}`,
        );
      }
      p += name[0].length;
      let key = "";
      if (text[p] === ":") {
        p++;
        if (text[p] === '"') {
          const s = quoted(text, p);
          if (!s.ok) return fail(s.offset, s.message);
          key = s.value;
          p = s.end;
        } else {
          BARE_KEY.lastIndex = p;
          const k = BARE_KEY.exec(text);
          if (k === null) return fail(p, `expected a key after '${name[0]}:'`);
          key = k[0];
          p += key.length;
        }
        if (key === "") return fail(p - 2, "a key must not be empty");
      }
      inserted = { kind: "value", secret: name[0], key, filters: [], offset: open };
    }
    p = skipSpace(text, p);
    const filters: TemplateFilter[] = [];
    while (text[p] === "|") {
      p = skipSpace(text, p + 1);
      FILTER.lastIndex = p;
      const f = FILTER.exec(text);
      const known = (TEMPLATE_FILTERS as readonly string[]).includes(f?.[0] ?? "");
      if (f === null || !known) {
        return fail(
          p,
          `unknown filter ${excerpt(text, p)}: known filters are ${TEMPLATE_FILTERS.join(", ")}`,
        );
      }
      filters.push(f[0] as TemplateFilter);
      p = skipSpace(text, p + f[0].length);
    }
    if (!text.startsWith("}}", p)) {
      const end = text.indexOf("}}", p);
      return fail(
        end === -1 ? open : p,
        end === -1
          ? "'{{' is not closed by '}}'"
          : `expected '}}' or '| FILTER': found ${excerpt(text, p)}`,
      );
    }
    i = p + 2;
    if (inserted.kind === "literal") {
      if (filters.length > 0) {
        return fail(open, "filters apply to secret values, not to literal text");
      }
      literal += inserted.text;
      continue;
    }
    if (literal !== "") parts.push({ kind: "text", text: literal });
    literal = "";
    inserted.filters = filters;
    parts.push(inserted);
  }
  if (literal !== "") parts.push({ kind: "text", text: literal });
  return { ok: true, parts };
}

function skipSpace(text: string, p: number): number {
  while (p < text.length && (text[p] === " " || text[p] === "\t")) p++;
  return p;
}

function quoted(
  text: string,
  start: number,
): { ok: true; value: string; end: number } | { ok: false; offset: number; message: string } {
  let out = "";
  for (let p = start + 1; p < text.length; p++) {
    const ch = text[p]!;
    if (ch === '"') return { ok: true, value: out, end: p + 1 };
    if (ch === "\n") break;
    if (ch === "\\") {
      const next = text[p + 1];
      if (next !== '"' && next !== "\\") {
        return {
          ok: false,
          offset: p,
          message: `unknown escape '\\${next ?? ""}': use \\" or \\\\`,
        };
      }
      out += next;
      p++;
      continue;
    }
    out += ch;
  }
  return { ok: false, offset: start, message: "a quoted string is not closed on its line" };
}

function excerpt(text: string, p: number): string {
  if (p >= text.length) return "the end of the template";
  const s = text.slice(p, p + 12).split("\n")[0]!;
  return JSON.stringify(s);
}
