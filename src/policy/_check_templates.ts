/**
 * The `templates:` section, and what only the whole policy can tell: every secret delivered somewhere, no
 * variable inside an `all_keys` prefix.
 *
 * @module
 */

import type { Scalar } from "yaml";
import { parseTemplate } from "./template.ts";
import type { SecretSpec, TemplateSpec } from "./types.ts";
import type { Checker } from "./_checker.ts";
import { suggest } from "./suggest.ts";
import { ReadMap, ReadSeq } from "./_read.ts";
import { claimDelivery, claimName, type Seen } from "./_check_secrets.ts";

// ---------------------------------------------------------------------------------------------------------------
// Templates

export function buildTemplates(
  c: Checker,
  value: unknown,
  secrets: readonly SecretSpec[],
  seen: Seen,
): TemplateSpec[] | undefined {
  if (value === undefined) return [];
  if (!(value instanceof ReadSeq)) return undefined;
  const secretNames = new Set(seen.names.keys());
  const out: TemplateSpec[] = [];
  for (const item of value.items) {
    if (!(item.value instanceof ReadMap)) continue;
    const map = item.value;
    const name = claimName(c, map, seen, "must be unique among secrets and templates");
    const deliveryRead = map.get("delivery");
    const delivery = deliveryRead instanceof ReadMap
      ? claimDelivery(c, deliveryRead, seen)
      : undefined;
    const text = map.get("template");
    if (typeof text !== "string") continue;
    const textEntry = map.entry("template")!;
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
      continue;
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
    if (!ok || name === undefined || delivery === undefined || !map.ok) continue;
    out.push({ name, parts: parsed.parts, secrets: read, delivery });
  }
  return out.length === value.items.length ? out : undefined;
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
