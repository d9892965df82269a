/**
 * The policy file: YAML -> validated, typed {@linkcode Policy}, with `FILE:LINE:COL` errors, and the JSON Schema
 * editors use. See `docs/policy.md` for the format.
 *
 * @example Usage
 * ```ts ignore
 * import { loadPolicy, PolicyError } from "./mod.ts";
 *
 * try {
 *   const policy = await loadPolicy("policy.yaml");
 *   console.log(`${policy.secrets.length} secrets, mode ${policy.policy.mode}`);
 * } catch (error) {
 *   if (error instanceof PolicyError) for (const issue of error.issues) console.error(issue.message);
 *   else throw error;
 * }
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./errors.ts";
export { loadPolicy, MAX_POLICY_BYTES, parsePolicy } from "./load.ts";
export { type JsonSchema, policySchema } from "./schema.ts";
export { VAULT_DEFAULTS } from "./_check_sections.ts";
