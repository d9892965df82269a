/**
 * The policy file: YAML -> validated, typed {@linkcode Policy}, with `FILE:LINE:COL` errors. See `docs/policy.md`
 * for the format. The JSON Schema editors use is `./schema.ts`'s `policySchema`, built when that module is imported:
 * not here, so that loading a policy (the start of every `x00 run`) does not derive it.
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
export { VAULT_DEFAULTS } from "./_check_sections.ts";
