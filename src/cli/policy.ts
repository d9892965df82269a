/**
 * `x00 policy check FILE` and `x00 policy schema`: validate a policy with `FILE:LINE:COL` errors, and print the
 * JSON Schema editors use.
 *
 * @module
 */

import { X00Error } from "../errors.ts";
import { formatPolicyIssue, loadPolicy, PolicyError } from "../policy/mod.ts";
import { policySchema } from "../policy/schema.ts";

/**
 * Validates a policy file. Prints `FILE: ok (N secrets, mode MODE)` to stdout when it is valid; otherwise every
 * problem found, one `FILE:LINE:COL: message` line each, to stderr (or the one line saying why the file cannot be
 * read).
 *
 * @example Usage
 * ```ts ignore
 * import { runPolicyCheck } from "./policy.ts";
 *
 * Deno.exit(await runPolicyCheck("examples/policy.yaml"));
 * ```
 *
 * @param file The policy file.
 * @returns The exit code: 0 when the policy is valid, 2 when it is not or cannot be read.
 */
export async function runPolicyCheck(file: string): Promise<number> {
  try {
    const policy = await loadPolicy(file);
    const count = policy.secrets.length;
    const templates = policy.templates.length;
    console.log(
      `${file}: ok (${count} ${count === 1 ? "secret" : "secrets"}` +
        (templates > 0 ? `, ${templates} ${templates === 1 ? "template" : "templates"}` : "") +
        `, mode ${policy.policy.mode})`,
    );
    return 0;
  } catch (error) {
    if (error instanceof PolicyError) {
      for (const issue of error.issues) console.error(formatPolicyIssue(issue));
      return error.exitCode;
    }
    if (error instanceof X00Error) {
      console.error(error.message);
      return error.exitCode;
    }
    throw error;
  }
}

/**
 * Prints the policy's JSON Schema (draft 2020-12), indented, to stdout.
 *
 * @example Usage
 * ```ts ignore
 * import { runPolicySchema } from "./policy.ts";
 *
 * Deno.exit(runPolicySchema()); // x00 policy schema > x00-policy.schema.json
 * ```
 *
 * @returns The exit code, 0.
 */
export function runPolicySchema(): number {
  console.log(JSON.stringify(policySchema, null, 2));
  return 0;
}
