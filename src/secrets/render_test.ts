import assert from "node:assert/strict";
import { parseTemplate } from "../policy/template.ts";
import type { Delivery, SecretSpec, TemplateSpec } from "../policy/types.ts";
import { allKeysVariable, allKeysVariables, isUtf8, renderTemplate } from "./render.ts";
import type { FetchedSecret } from "./source.ts";
import { X00Error } from "../errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function template(text: string): TemplateSpec {
  const r = parseTemplate(text);
  if (!r.ok) throw new Error(r.error.message);
  const delivery: Delivery = { kind: "env", var: "T" };
  return { name: "t", parts: r.parts, secrets: [], delivery };
}

function secret(values: Record<string, string | Uint8Array>): FetchedSecret {
  return {
    values: new Map(
      Object.entries(values).map(([k, v]) => [k, typeof v === "string" ? enc.encode(v) : v]),
    ),
  };
}

Deno.test("renderTemplate() inserts values and applies filters byte by byte", () => {
  const fetched = new Map([
    ["db", secret({ user: "app", pw: ' p@s:s/w "ü"\n\t\u0001', bin: new Uint8Array([0, 255, 7]) })],
    ["ca", secret({ "": "  -----PEM-----\n" })],
  ]);
  const out = renderTemplate(
    template(
      "{{ db:user }}|{{ db:pw | url }}|{{ db:pw | json }}|{{ ca | trim }}|{{ db:bin | base64 }}|" +
        "{{ db:pw | trim | base64 }}",
    ),
    fetched,
  );
  assert.equal(
    dec.decode(out),
    "app|%20p%40s%3As%2Fw%20%22%C3%BC%22%0A%09%01|" + '" p@s:s/w \\"ü\\"\\n\\t\\u0001"|' +
      "-----PEM-----|AP8H|" + btoa(String.fromCharCode(...enc.encode('p@s:s/w "ü"\n\t\u0001'))),
  );
  // base64 of 1, 2 and 3 bytes, against the platform's encoder.
  for (const s of ["a", "ab", "abc", "abcd"]) {
    const one = renderTemplate(template("{{ x:v | base64 }}"), new Map([["x", secret({ v: s })]]));
    assert.equal(dec.decode(one), btoa(s));
  }
});

Deno.test("renderTemplate() refuses json and url of bytes that are not UTF-8, naming no value", () => {
  const fetched = new Map([["db", secret({ k: new Uint8Array([0x61, 0xc3]) })]]);
  assert.throws(
    () => renderTemplate(template("{{ db:k | json }}"), fetched),
    (e: unknown) =>
      e instanceof X00Error && e.exitCode === 5 &&
      e.message ===
        "Cannot render template 't': the value of 'db' is not UTF-8 text, which 'json' needs",
  );
  assert.throws(() => renderTemplate(template("{{ db:other }}"), fetched), /has no key 'other'/);
});

Deno.test("isUtf8() follows RFC 3629", () => {
  const ok = ["", "abc", "ü", "€", "𝄞", "\u{10FFFF}"];
  for (const s of ok) assert.ok(isUtf8(enc.encode(s)), s);
  const bad = [
    [0xc0, 0x80],
    [0xe0, 0x80, 0x80],
    [0xed, 0xa0, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [
      0xc3,
    ],
    [0x80],
    [0xff],
  ];
  for (const b of bad) assert.ok(!isUtf8(new Uint8Array(b)), JSON.stringify(b));
});

Deno.test("allKeysVariables() names every key and refuses two keys that become one variable", () => {
  const spec = {
    name: "db",
    source: { type: "vault", engine: "kv-v1", mount: "kv", path: "db" },
    deliveries: new Map(),
    all_keys: { kind: "env", prefix: "DB_" },
  } satisfies SecretSpec;
  assert.equal(allKeysVariable("APP_", "api.key-2"), "APP_API_KEY_2");
  assert.deepEqual(
    [...allKeysVariables(spec, secret({ user: "u", "db-host": "h", "ü": "x" }))],
    [["db-host", "DB_DB_HOST"], ["user", "DB_USER"], ["ü", "DB__"]],
  );
  assert.throws(
    () => allKeysVariables(spec, secret({ "db-host": "a", db_host: "b" })),
    /keys "db-host" and "db_host" both become DB_DB_HOST/,
  );
  assert.throws(() => allKeysVariables(spec, secret({})), /it has no key/);
});
