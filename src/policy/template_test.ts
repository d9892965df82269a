import assert from "node:assert/strict";
import { parseTemplate, type TemplatePart } from "./template.ts";

function parts(text: string): TemplatePart[] {
  const r = parseTemplate(text);
  assert.ok(r.ok, JSON.stringify(r));
  return r.parts;
}

function error(text: string): { offset: number; message: string } {
  const r = parseTemplate(text);
  assert.ok(!r.ok, `accepted: ${text}`);
  return r.error;
}

Deno.test("parseTemplate() splits text and values, with keys, quoted keys and filters", () => {
  assert.deepEqual(parts('a={{ db:user }} b={{db:"my key"|trim|url}} c={{ tok }}'), [
    { kind: "text", text: "a=" },
    { kind: "value", secret: "db", key: "user", filters: [], offset: 2 },
    { kind: "text", text: " b=" },
    { kind: "value", secret: "db", key: "my key", filters: ["trim", "url"], offset: 18 },
    { kind: "text", text: " c=" },
    { kind: "value", secret: "tok", key: "", filters: [], offset: 45 },
  ]);
});

Deno.test("parseTemplate() writes literals, '}}' outside actions and multi-line text as is", () => {
  assert.deepEqual(parts('{{ "{{" }}x}} {{ a.b-c_d:k.e/y }}\n{{ "q\\"\\\\" }}'), [
    { kind: "text", text: "{{x}} " },
    { kind: "value", secret: "a.b-c_d", key: "k.e/y", filters: [], offset: 14 },
    { kind: "text", text: '\nq"\\' },
  ]);
});

Deno.test("parseTemplate() reports each syntax error at its offset", () => {
  assert.deepEqual(error("x {{ a"), { offset: 2, message: "'{{' is not closed by '}}'" });
  assert.deepEqual(error("{{ }}"), {
    offset: 3,
    message: "an empty action: write {{ NAME }} or {{ NAME:KEY }}",
  });
  assert.deepEqual(error("{{ a | sh }}"), {
    offset: 7,
    message: 'unknown filter "sh }}": known filters are trim, json, url, base64',
  });
  assert.deepEqual(error("{{ a b }}"), {
    offset: 5,
    message: `expected '}}' or '| FILTER': found "b }}"`,
  });
  assert.deepEqual(error('{{ "a\\n" }}'), {
    offset: 5,
    message: "unknown escape '\\n': use \\\" or \\\\",
  });
  assert.deepEqual(error('{{ "a" | json }}'), {
    offset: 0,
    message: "filters apply to secret values, not to literal text",
  });
  assert.equal(error("{{ -x }}").offset, 3);
  assert.equal(error("{{ a: }}").message, "expected a key after 'a:'");
  assert.equal(error('{{ a:"open }}').message, "a quoted string is not closed on its line");
});
