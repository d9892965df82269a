/**
 * `third_party/yaml/` is the locked npm package's ES-module build, byte for byte (scripts/vendor_yaml.ts), and
 * the `yaml` import resolves to it: the policy loader never loads the package's CommonJS build.
 */
import assert from "node:assert/strict";
import { differences } from "../../scripts/vendor_yaml.ts";

Deno.test("third_party/yaml/ is the npm package's ES-module build, unchanged", async () => {
  assert.deepEqual(await differences(), []);
});

Deno.test("the `yaml` import is the vendored ES-module build", async () => {
  assert.equal(
    import.meta.resolve("yaml"),
    new URL("../../third_party/yaml/mod.js", import.meta.url).href,
  );
  const vendored = await import("yaml");
  const esm = await import("../../third_party/yaml/index.js");
  assert.equal(vendored.parseDocument, esm.parseDocument);
  assert.equal(vendored.default, esm.default);
});
