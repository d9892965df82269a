/**
 * The policy format's patterns (strings in src/policy/format/, so that the JSON Schema can carry them) compiled
 * once each, however many values a policy checks against them. None has the `g` or `y` flag, so a compiled
 * expression keeps no state between tests.
 *
 * @module
 */

const compiled = new Map<string, RegExp>();

/** The expression for `source` with `flags`, compiled on first use. */
export function pattern(source: string, flags = ""): RegExp {
  const key = `${flags}/${source}`;
  let re = compiled.get(key);
  if (re === undefined) {
    re = new RegExp(source, flags);
    compiled.set(key, re);
  }
  return re;
}
