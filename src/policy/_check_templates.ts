/**
 * The `templates:` section, and what only the whole policy can tell: every secret delivered somewhere, no
 * variable inside an `all_keys` prefix.
 *
 * @module
 */

import { isSeq, type Scalar } from "yaml";
import { parseTemplate } from "./template.ts";
import { KEYS } from "./_spec.ts";
import type { SecretSpec, TemplateSpec } from "./types.ts";
import { Checker, type Entry, stringField, suggest } from "./_checker.ts";
import { checkDelivery, claimName, type Seen } from "./_check_secrets.ts";

// ---------------------------------------------------------------------------------------------------------------
// Templates

export function checkTemplates(
  c: Checker,
  entry: Entry | undefined,
  secrets: readonly SecretSpec[],
  seen: Seen,
): TemplateSpec[] | undefined {
  if (entry === undefined) return [];
  const node = entry.value;
  if (node === undefined) return undefined;
  if (!isSeq(node)) {
    c.invalid(entry, "a sequence of template entries");
    return undefined;
  }
  const secretNames = new Set(seen.names.keys());
  const out: TemplateSpec[] = [];
  node.items.forEach((item, index) => {
    const path = `${entry.path}[${index}]`;
    const fields = c.mapping(c.resolve(item, path), path, KEYS.template);
    if (fields === undefined) return;
    const name = claimName(
      c,
      fields,
      seen,
      "a name of letters, digits, '_', '.' and '-', starting with a letter or digit",
      "must be unique among secrets and templates",
    );
    const text = stringField(c, fields, "template", { required: true });
    const deliveryEntry = fields.entries.get("delivery");
    if (deliveryEntry === undefined) c.missing(fields, "delivery");
    const delivery = deliveryEntry && checkDelivery(c, deliveryEntry, seen.vars);
    if (text === undefined) return;
    const textEntry = fields.entries.get("template")!;
    const at = (offset: number, message: string) =>
      c.issueInScalar(
        textEntry.value as Scalar,
        offset,
        textEntry.path,
        `Cannot load policy as '${textEntry.path}' ${message}`,
      );
    const parsed = parseTemplate(text);
    if (!parsed.ok) {
      at(parsed.error.offset, `is not a valid template: ${parsed.error.message}`);
      seen.templatesIncomplete = true; // which secrets it reads is unknown
      return;
    }
    const read: string[] = [];
    let ok = true;
    for (const part of parsed.parts) {
      if (part.kind !== "value") continue;
      seen.readByTemplates.add(part.secret);
      const spec = secrets.find((s) => s.name === part.secret);
      if (spec === undefined) {
        ok = false;
        if (secretNames.has(part.secret)) continue; // the entry has an error of its own
        const isTemplate = seen.names.has(part.secret);
        at(
          part.offset,
          isTemplate
            ? `reads template '${part.secret}': a template reads secrets, not other templates`
            : `reads '${part.secret}', which is not a secret of 'secrets': ${
              suggest(part.secret, [...secretNames])
            }`,
        );
        continue;
      }
      let key = part.key;
      const src = spec.source;
      if (src.type !== "vault" && key !== "") {
        at(
          part.offset,
          `reads key '${key}' of '${spec.name}', a${
            src.type === "env" ? "n" : ""
          } ${src.type} source with one value: write {{ ${spec.name} }}`,
        );
        ok = false;
        continue;
      }
      if (src.type === "vault" && key === "") {
        if (src.key === undefined) {
          at(
            part.offset,
            `reads '${spec.name}' without a key, but it is a Vault secret: name the key, as in {{ ${spec.name}:password }}`,
          );
          ok = false;
          continue;
        }
        key = src.key;
        part.key = key;
      }
      const keys = spec.template_keys ?? [];
      if (!keys.includes(key)) keys.push(key);
      spec.template_keys = keys;
      if (!read.includes(spec.name)) read.push(spec.name);
    }
    if (ok && read.length === 0) {
      at(0, "reads no secret: a template must insert at least one value, as in {{ NAME }}");
      ok = false;
    }
    if (!ok || name === undefined || delivery === undefined) return;
    out.push({ name, parts: parsed.parts, secrets: read, delivery });
  });
  return out.length === node.items.length ? out : undefined;
}

/** Every secret delivered somewhere; no variable both named and inside an `all_keys` prefix. */
export function checkDeliveredOnce(c: Checker, seen: Seen): void {
  for (const u of seen.undelivered) {
    if (seen.templatesIncomplete) break;
    if (u.name !== undefined && seen.readByTemplates.has(u.name)) continue;
    c.issue(
      u.node,
      u.path,
      "must have 'delivery' (one value), 'keys' (several keys of a Vault secret) or 'all_keys' " +
        "(every key of a Vault secret), or be read by a template",
    );
  }
  seen.prefixes.forEach((p, i) => {
    for (const [name, use] of seen.vars) {
      if (!name.startsWith(p.prefix)) continue;
      c.issue(
        use.node,
        use.path,
        `must not start with ${
          JSON.stringify(p.prefix)
        }, the all_keys prefix of '${p.path}': a key of that secret could deliver the same variable`,
      );
    }
    for (const q of seen.prefixes.slice(0, i)) {
      if (!p.prefix.startsWith(q.prefix) && !q.prefix.startsWith(p.prefix)) continue;
      c.issue(
        p.node,
        p.path,
        `must not overlap the all_keys prefix ${
          JSON.stringify(q.prefix)
        } of '${q.path}': two secrets could deliver the same variable`,
      );
    }
  });
}
