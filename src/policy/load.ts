/**
 * Loads a policy file: YAML text -> validated, typed {@linkcode Policy}. Every problem is reported with the
 * file, line, column and field path of the YAML node it is about. The loader never reads secret values: file and
 * env sources are only described here, and fetched later by `src/secrets/`.
 *
 * @module
 */

import { LineCounter, parseDocument, type YAMLError } from "yaml";
import { PolicyError, PolicyFileError } from "./errors.ts";
import { POLICY } from "./format/mod.ts";
import type { Policy } from "./types.ts";
import { Checker } from "./_checker.ts";
import { read, ReadMap } from "./_read.ts";
import {
  buildAudit,
  buildClients,
  buildProtection,
  buildRotation,
  buildVault,
  buildWorkload,
} from "./_check_sections.ts";
import { buildSecrets, newSeen } from "./_check_secrets.ts";
import { buildTemplates, checkDeliveredOnce } from "./_check_templates.ts";

/** Policy files larger than this are refused before parsing (1 MiB). */
export const MAX_POLICY_BYTES = 1024 * 1024;

/**
 * Reads and validates a policy file.
 *
 * @example Usage
 * ```ts ignore
 * import { loadPolicy } from "./load.ts";
 *
 * const policy = await loadPolicy("/etc/x00/policy.yaml");
 * console.log(policy.policy.mode, policy.secrets.length);
 * ```
 *
 * @param path The policy file. Messages name it as given.
 * @returns The validated policy.
 * @throws {PolicyFileError} The file is missing, unreadable, not UTF-8 or larger than 1 MiB.
 * @throws {PolicyError} The file is not a valid policy; `issues` lists every problem found.
 */
export async function loadPolicy(path: string): Promise<Policy> {
  let bytes: Uint8Array;
  try {
    bytes = await readAtMost(path, MAX_POLICY_BYTES + 1);
  } catch (error) {
    throw new PolicyFileError(path, osReason(error), { cause: error });
  }
  if (bytes.length > MAX_POLICY_BYTES) {
    throw new PolicyFileError(path, `larger than ${MAX_POLICY_BYTES} bytes`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    throw new PolicyFileError(path, "not valid UTF-8", { cause: error });
  }
  return parsePolicy(text, path);
}

/**
 * Validates policy text.
 *
 * @example Usage
 * ```ts
 * import { parsePolicy } from "./load.ts";
 *
 * const policy = parsePolicy(
 *   `policy:
 *   mode: enforce
 * secrets:
 *   - name: api-token
 *     source: { type: env, var: API_TOKEN }
 *     delivery: { file: API_TOKEN_FILE }
 * `,
 *   "policy.yaml",
 * );
 * console.log(policy.policy.block_ptrace); // true
 * console.log(policy.secrets[0]?.deliveries.get("")); // { kind: "file", var: "API_TOKEN_FILE" }
 * ```
 *
 * @param text The YAML text.
 * @param fileName The name used in messages and in {@linkcode Policy.file}.
 * @returns The validated policy.
 * @throws {PolicyError} The text is not a valid policy; `issues` lists every problem found.
 */
export function parsePolicy(text: string, fileName: string): Policy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: false, // the checker reports duplicates itself, with their field path
    version: "1.2",
  });
  const c = new Checker(fileName, lineCounter, doc, text);
  const problems: YAMLError[] = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    for (const problem of problems) c.yamlIssue(problem);
  } else if (doc.contents === null) {
    c.issueAt(0, "", "Cannot load policy as the file is empty");
  }
  const policy = c.issues.length === 0 ? checkRoot(c, doc.contents, fileName) : undefined;
  const issues = [...c.issues].sort((a, b) => a.line - b.line || a.column - b.column);
  const [first, ...rest] = issues;
  if (first !== undefined) throw new PolicyError([first, ...rest]);
  if (policy === undefined) {
    throw new Error("unreachable: a policy without issues must be complete");
  }
  return policy;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

async function readAtMost(path: string, limit: number): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < limit) {
    const chunk = new Uint8Array(Math.min(64 * 1024, limit - total));
    const n = await file.read(chunk);
    if (n === null) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** The operating system's reason from a Deno error, without the operation and path Deno appends. */
function osReason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const match = /^(.*?\(os error \d+\))/.exec(error.message);
  return match?.[1] ?? error.message.split("\n")[0] ?? error.name;
}

function checkRoot(c: Checker, node: unknown, file: string): Policy | undefined {
  const value = c.resolve(node, "");
  const root = read(c, POLICY, { key: value, value, path: "" });
  if (!(root instanceof ReadMap)) return undefined;
  const seen = newSeen();
  const secrets = buildSecrets(c, root.get("secrets"), seen);
  const templates = buildTemplates(c, root.get("templates"), secrets ?? [], seen);
  checkDeliveredOnce(c, seen);
  const clientsRead = root.get("clients");
  const clients = clientsRead === undefined
    ? undefined
    : buildClients(c, clientsRead, new Set((secrets ?? []).map((s) => s.name)));
  const protection = buildProtection(root.get("policy"));
  const vault = root.get("vault") === undefined ? undefined : buildVault(root.get("vault"));
  const audit = buildAudit(root.get("audit"));
  const rotation = buildRotation(root.get("rotation"));
  const workload = buildWorkload(root.get("workload"));
  if (
    c.issues.length > 0 || !root.ok || !protection || !secrets || !templates || !audit ||
    !rotation || !workload || (clientsRead !== undefined && !clients) ||
    (root.get("vault") !== undefined && !vault)
  ) {
    return undefined;
  }
  return {
    file,
    policy: protection,
    secrets,
    templates,
    audit,
    rotation,
    ...(vault ? { vault } : {}),
    workload,
    ...(clients ? { clients } : {}),
  };
}
