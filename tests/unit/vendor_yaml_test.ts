/**
 * `third_party/yaml/` is the locked npm package's ES-module build bundled into one module, byte for byte what
 * scripts/vendor_yaml.ts makes, and the `yaml` import resolves to it: the policy loader never loads the
 * package's CommonJS build.
 */
import assert from "node:assert/strict";
import { differences } from "../../scripts/vendor_yaml.ts";

Deno.test("third_party/yaml/ is the npm package's ES-module build, bundled, unchanged", async () => {
  assert.deepEqual(await differences(), []);
});

Deno.test("the `yaml` import is the vendored bundle, and parses as the package does", async () => {
  assert.equal(
    import.meta.resolve("yaml"),
    new URL("../../third_party/yaml/mod.js", import.meta.url).href,
  );
  const vendored = await import("yaml");
  const bundled = await import("../../third_party/yaml/bundle.js");
  assert.equal(vendored.parseDocument, bundled.parseDocument);
  assert.equal(vendored.default, bundled.default);
  const npm = await import("yaml-npm");
  const text = "a: 1\nb: [x, 'y', {c: null}]\nd: |\n  two\n  lines\n";
  assert.deepEqual(vendored.parse(text), npm.parse(text));
  const bad = "a: 1\na: 2\n";
  assert.deepEqual(
    vendored.parseDocument(bad).errors.map((e) => [e.code, e.linePos]),
    npm.parseDocument(bad).errors.map((e) => [e.code, e.linePos]),
  );
});
