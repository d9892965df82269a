/**
 * Loads a policy file: YAML text -> validated, typed {@linkcode Policy}. Every problem is reported with the
 * file, line, column and field path of the YAML node it is about. The loader never reads secret values: file and
 * env sources are only described here, and fetched later by `src/secrets/`.
 *
 * @module
 */

import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Scalar,
  type YAMLError,
  type YAMLMap,
} from "yaml";
import { PolicyError, PolicyFileError, type PolicyIssue } from "./errors.ts";
import { parseTemplate } from "./template.ts";
import { CAPABILITY_NAMES, capabilityNumber } from "../protect/capabilities.ts";
import {
  ABSOLUTE_PATH_PATTERN,
  ACCOUNT_NAME_PATTERN,
  AUDIT_FORMATS,
  AUDIT_OUTPUT_PATTERN,
  AUTH_METHODS,
  DEFAULTS,
  ENGINES,
  ENV_NAME_PATTERN,
  FOREIGN_BPF,
  KEYS,
  MAX_DURATION_MS,
  MAX_ID,
  MAX_PKI_TTL_MS,
  MODES,
  ON_CHANGE,
  parseDuration,
  PKI_KEYS,
  PKI_ROLE_PATTERN,
  PKI_SOURCE_KEYS,
  RELOAD_SIGNALS,
  SECRET_NAME_PATTERN,
  SOURCE_TYPES,
  STOP_SIGNALS,
  VAULT_ADDRESS_PATTERN,
  VAULT_PATH_PATTERN,
} from "./_spec.ts";
import type {
  AccountId,
  AuditConfig,
  ClientPolicy,
  Delivery,
  Mode,
  PkiRequest,
  Policy,
  ProtectionPolicy,
  RotationConfig,
  SecretSpec,
  Source,
  TemplateSpec,
  VaultAuthConfig,
  VaultConfig,
  VaultSource,
  WorkloadPolicy,
} from "./types.ts";

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

// ---------------------------------------------------------------------------------------------------------------
// The checker: positions, messages, mappings and scalars

/** A mapping that passed the key checks: known, string, unique keys. */
interface Fields {
  node: YAMLMap;
  path: string;
  entries: Map<string, Entry>;
}

/** One key of a checked mapping. */
interface Entry {
  key: Scalar;
  /** The value node with aliases resolved; `null` when the pair has no value node. */
  value: unknown;
  path: string;
}

class Checker {
  readonly issues: PolicyIssue[] = [];
  readonly #file: string;
  readonly #lineCounter: LineCounter;
  readonly #doc: Document;

  readonly #text: string;

  constructor(file: string, lineCounter: LineCounter, doc: Document, text: string) {
    this.#file = file;
    this.#lineCounter = lineCounter;
    this.#doc = doc;
    this.#text = text;
  }

  /**
   * Reports `message` at offset `at` of a string scalar's value: exact for plain and quoted one-line scalars
   * without escapes and for literal block scalars (`|`), else at the scalar's start.
   */
  issueInScalar(node: Scalar, at: number, path: string, message: string): void {
    this.issueAt(scalarOffset(node, at, this.#text), path, message);
  }

  issueAt(offset: number, path: string, message: string): void {
    const { line, col } = this.#lineCounter.linePos(offset);
    this.issues.push({ file: this.#file, line, column: col, path, message });
  }

  /** Reports `Cannot load policy as 'PATH' WHAT` at a node. */
  issue(node: unknown, path: string, what: string): void {
    this.issueAt(offsetOf(node), path, `Cannot load policy as ${label(path)} ${what}`);
  }

  yamlIssue(error: YAMLError): void {
    const text = error.code === "MULTIPLE_DOCS"
      ? "a policy file must contain exactly one YAML document"
      : error.message.replace(/\s+/g, " ").trim();
    this.issueAt(error.pos[0], "", `Cannot load policy as the YAML is invalid: ${text}`);
  }

  /** Resolves an alias to the node it refers to; reports unknown anchors. */
  resolve(node: unknown, path: string): unknown {
    if (!isAlias(node)) return node ?? null;
    const target = node.resolve(this.#doc);
    if (target === undefined) {
      this.issue(node, path, `refers to an unknown anchor: current value is *${node.source}`);
      return undefined;
    }
    return target;
  }

  /**
   * Checks that a node is a mapping whose keys are unique strings from `known` (any string when `known` is
   * `null`). Unknown and duplicate keys are reported and left out.
   */
  mapping(node: unknown, path: string, known: readonly string[] | null): Fields | undefined {
    if (node === undefined) return undefined; // already reported by resolve()
    if (!isMap(node)) {
      this.issue(node, path, `must be a mapping: current value is ${describe(node)}`);
      return undefined;
    }
    const entries = new Map<string, Entry>();
    for (const pair of node.items) {
      const key = this.resolve(pair.key, path);
      if (!isScalar(key) || typeof key.value !== "string") {
        if (key !== undefined) {
          this.issue(key, path, `must have string keys: current key is ${describe(key)}`);
        }
        continue;
      }
      const name = key.value;
      const childPath = join(path, name);
      const first = entries.get(name);
      if (first !== undefined) {
        const { line, col } = this.#lineCounter.linePos(offsetOf(first.key));
        this.issue(key, childPath, `is defined twice: first at line ${line}, column ${col}`);
        continue;
      }
      if (known !== null && !known.includes(name)) {
        this.issue(key, childPath, `is not a known key: ${suggest(name, known)}`);
        continue;
      }
      const value = this.resolve(pair.value, childPath);
      entries.set(name, { key, value, path: childPath });
    }
    return { node, path, entries };
  }

  /** Reports every present key of `fields` that is not in `allowed`, with `why` appended. */
  onlyAllowed(fields: Fields, allowed: readonly string[], why: string): void {
    for (const [name, entry] of fields.entries) {
      if (!allowed.includes(name)) this.issue(entry.key, entry.path, `is not allowed ${why}`);
    }
  }

  /** Reports a missing required key at its mapping. */
  missing(fields: Fields, name: string, why = ""): void {
    this.issue(fields.node, join(fields.path, name), `is required${why}`);
  }

  /** A scalar value of the given JavaScript type, or `undefined` (reported) when it has another type. */
  scalar<T extends "string" | "boolean" | "number">(
    entry: Entry,
    type: T,
    expected: string,
  ): (T extends "string" ? string : T extends "boolean" ? boolean : number) | undefined {
    const node = entry.value;
    if (node === undefined) return undefined;
    if (isScalar(node) && typeof node.value === type) {
      return node.value as T extends "string" ? string : T extends "boolean" ? boolean : number;
    }
    this.issue(node, entry.path, `must be ${expected}: current value is ${describe(node)}`);
    return undefined;
  }

  /** Reports `must be EXPECTED: current value is VALUE` for an entry. */
  invalid(entry: Entry, expected: string, hideValue = false): void {
    const current = hideValue ? "hidden as it may be a credential" : describe(entry.value);
    this.issue(
      entry.value,
      entry.path,
      `must be ${expected}: current value is ${current}`,
    );
  }
}

function scalarOffset(node: Scalar, at: number, text: string): number {
  const [start, end] = node.range ?? [0, 0];
  const value = String(node.value);
  const raw = text.slice(start, end);
  if (node.type === "PLAIN" && raw === value) return start + at;
  if (
    (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE") && raw.slice(1, -1) === value
  ) {
    return start + 1 + at;
  }
  if (node.type === "BLOCK_LITERAL") {
    const before = value.slice(0, at).split("\n");
    const line = before.length - 1;
    const column = before[line]!.length;
    const lines = raw.split("\n"); // [header, content lines...]
    const indent = Math.min(
      ...lines.slice(1).filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length),
    );
    if (line + 1 < lines.length && Number.isFinite(indent)) {
      let offset = start;
      for (let i = 0; i <= line; i++) offset += lines[i]!.length + 1;
      return offset + indent + column;
    }
  }
  return start;
}

function offsetOf(node: unknown): number {
  if (typeof node === "object" && node !== null && "range" in node) {
    const range = (node as { range?: [number, number, number] | null }).range;
    if (range) return range[0];
  }
  return 0;
}

function label(path: string): string {
  return path === "" ? "the document" : `'${path}'`;
}

function join(path: string, key: string): string {
  const part = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (path === "") return part;
  return part.startsWith("[") ? `${path}${part}` : `${path}.${part}`;
}

/** Describes a node for "current value is ...": scalars as YAML-ish literals, collections by kind. */
function describe(node: unknown): string {
  if (node === null || node === undefined) return "null";
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a sequence";
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return "null";
    if (typeof value === "string") {
      return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
    }
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    return `a value tagged ${node.tag ?? typeof value}`;
  }
  return "an unsupported node";
}

/** "did you mean 'x'?" for a near miss, else the list of known keys. */
function suggest(name: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 4))) {
    return `did you mean '${best}'?`;
  }
  const longer = known.filter((candidate) => candidate.startsWith(`${name.toLowerCase()}_`));
  if (longer.length > 0 && longer.length <= 3) {
    return `did you mean ${longer.map((candidate) => `'${candidate}'`).join(" or ")}?`;
  }
  return `expected one of ${known.join(", ")}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

// ---------------------------------------------------------------------------------------------------------------
// Typed field readers. Each returns `undefined` when the key is absent (callers apply defaults) or invalid
// (reported); `required: true` also reports absence.

interface FieldOptions {
  required?: boolean;
  why?: string;
}

function stringField(
  c: Checker,
  fields: Fields,
  name: string,
  options: FieldOptions & {
    pattern?: string;
    expected?: string;
    /** Whether an invalid value may be a credential pasted in place of a path: it is not repeated. */
    credential?: (value: string) => boolean;
  } = {},
): string | undefined {
  const entry = fields.entries.get(name);
  if (entry === undefined) {
    if (options.required) c.missing(fields, name, options.why);
    return undefined;
  }
  const expected = options.expected ?? "a non-empty string";
  const value = c.scalar(entry, "string", expected);
  if (value === undefined) return undefined;
  if (value === "" || (options.pattern && !new RegExp(options.pattern, "u").test(value))) {
    c.invalid(entry, expected, options.credential?.(value) ?? false);
    return undefined;
  }
  return value;
}

/** Any value of a credential field may be the credential itself. */
const ALWAYS = () => true;

function enumField<T extends string>(
  c: Checker,
  fields: Fields,
  name: string,
  values: readonly T[],
  options: FieldOptions = {},
): T | undefined {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
  const value = stringField(c, fields, name, { ...options, expected });
  if (value === undefined) return undefined;
  if ((values as readonly string[]).includes(value)) return value as T;
  c.invalid(fields.entries.get(name)!, expected);
  return undefined;
}

function booleanField(c: Checker, fields: Fields, name: string): boolean | undefined {
  const entry = fields.entries.get(name);
  return entry === undefined ? undefined : c.scalar(entry, "boolean", "a boolean (true or false)");
}

function integerField(
  c: Checker,
  fields: Fields,
  name: string,
  min: number,
  expected: string,
): number | undefined {
  const entry = fields.entries.get(name);
  if (entry === undefined) return undefined;
  const value = c.scalar(entry, "number", expected);
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < min) {
    c.invalid(entry, expected);
    return undefined;
  }
  return value;
}

function durationField(
  c: Checker,
  fields: Fields,
  name: string,
  minMs: number,
): number | undefined {
  const expected = "a duration such as 500ms, 10s, 5m, 1h or 1m30s";
  const entry = fields.entries.get(name);
  if (entry === undefined) return undefined;
  const text = c.scalar(entry, "string", expected);
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) {
    c.invalid(entry, expected);
  } else if (ms < minMs) {
    c.invalid(entry, `at least ${formatMs(minMs)}`);
  } else if (ms > MAX_DURATION_MS) {
    c.invalid(entry, "at most 24h");
  } else {
    return ms;
  }
  return undefined;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const ENV_NAME = {
  pattern: ENV_NAME_PATTERN,
  expected: "a valid environment variable name",
};
const ABSOLUTE_PATH = { pattern: ABSOLUTE_PATH_PATTERN, expected: "an absolute path" };
/** A path to a file holding a credential: a wrong value may be the credential pasted in its place. */
const CREDENTIAL_PATH = { ...ABSOLUTE_PATH, credential: ALWAYS };
const VAULT_PATH = {
  pattern: VAULT_PATH_PATTERN,
  expected:
    "a Vault path such as 'app/config' (no leading or trailing '/', no empty, '.' or '..' segments)",
};

// ---------------------------------------------------------------------------------------------------------------
// Sections

function checkRoot(c: Checker, node: unknown, file: string): Policy | undefined {
  const root = c.mapping(c.resolve(node, ""), "", KEYS.root);
  if (root === undefined) return undefined;

  let protection: ProtectionPolicy | undefined;
  const policyEntry = root.entries.get("policy");
  if (policyEntry === undefined) {
    c.issueAt(offsetOf(root.node), "policy", "Cannot load policy as 'policy' is required");
  } else {
    protection = checkProtection(c, policyEntry);
  }

  const vaultEntry = root.entries.get("vault");
  const vault = vaultEntry === undefined ? undefined : checkVault(c, vaultEntry, protection?.mode);
  const seen = newSeen();
  const secrets = checkSecrets(c, root.entries.get("secrets"), vaultEntry !== undefined, seen);
  const templates = checkTemplates(c, root.entries.get("templates"), secrets ?? [], seen);
  checkDeliveredOnce(c, seen);
  const audit = checkAudit(c, root.entries.get("audit"));
  const rotation = checkRotation(c, root.entries.get("rotation"));
  const workload = checkWorkload(c, root.entries.get("workload"));
  const clientsEntry = root.entries.get("clients");
  const clients = clientsEntry === undefined
    ? undefined
    : checkClients(c, clientsEntry, new Set((secrets ?? []).map((s) => s.name)));

  if (
    c.issues.length > 0 || !protection || !secrets || !templates || !audit || !rotation ||
    !workload
  ) {
    return undefined;
  }
  if (clientsEntry !== undefined && !clients) return undefined;
  if (vaultEntry !== undefined && !vault) return undefined;
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

function checkClients(
  c: Checker,
  entry: Entry,
  secretNames: ReadonlySet<string>,
): ClientPolicy[] | undefined {
  const node = entry.value;
  if (node === undefined) return undefined;
  if (!isSeq(node) || node.items.length === 0) {
    c.invalid(entry, "a non-empty sequence of client entries");
    return undefined;
  }
  const names = new Map<string, string>();
  const out: ClientPolicy[] = [];
  node.items.forEach((item, index) => {
    const path = `${entry.path}[${index}]`;
    const fields = c.mapping(c.resolve(item, path), path, KEYS.client);
    if (fields === undefined) return;
    const name = stringField(c, fields, "name", {
      required: true,
      pattern: SECRET_NAME_PATTERN,
      expected: "a name of letters, digits, '_', '.' and '-'",
    });
    if (name !== undefined) {
      const first = names.get(name);
      if (first !== undefined) {
        c.issue(
          fields.entries.get("name")!.value,
          `${path}.name`,
          `is used twice: first at ${first}`,
        );
      }
      names.set(name, path);
    }
    const ids = (key: string) =>
      sequenceField(
        c,
        fields,
        key,
        `a sequence of ${key}`,
        (n, p) => accountId(c, n, p, false) as number | undefined,
      );
    const uids = ids("uids");
    const gids = ids("gids");
    const cgroups = sequenceField(c, fields, "cgroups", "a sequence of cgroup paths", (n, p) => {
      if (isScalar(n) && typeof n.value === "string" && n.value.startsWith("/")) return n.value;
      c.issue(
        n,
        p,
        `must be a cgroup v2 path such as "/kubepods.slice": current value is ${describe(n)}`,
      );
      return undefined;
    });
    const secrets = sequenceField(c, fields, "secrets", "a sequence of secret names", (n, p) => {
      if (isScalar(n) && typeof n.value === "string" && secretNames.has(n.value)) return n.value;
      c.issue(n, p, `must name a secret of 'secrets': current value is ${describe(n)}`);
      return undefined;
    });
    if (uids === null && gids === null && cgroups === null) {
      c.issue(
        fields.node,
        path,
        "needs at least one of 'uids', 'gids' or 'cgroups': the identity the kernel must see",
      );
      return;
    }
    if (name === undefined || uids === undefined || gids === undefined) return;
    if (cgroups === undefined || secrets === undefined) return;
    out.push({
      name,
      ...(uids !== null ? { uids } : {}),
      ...(gids !== null ? { gids } : {}),
      ...(cgroups !== null ? { cgroups } : {}),
      ...(secrets !== null ? { secrets } : {}),
    });
  });
  return out.length === node.items.length ? out : undefined;
}

function checkProtection(c: Checker, entry: Entry): ProtectionPolicy | undefined {
  const fields = c.mapping(entry.value, entry.path, KEYS.policy);
  if (fields === undefined) return undefined;
  const mode = enumField<Mode>(c, fields, "mode", MODES, { required: true });
  const blockEnviron = booleanField(c, fields, "block_environ_read");
  const blockMem = booleanField(c, fields, "block_mem_read");
  const blockPtrace = booleanField(c, fields, "block_ptrace");
  const foreignBpf = enumField(c, fields, "foreign_bpf", FOREIGN_BPF);
  const allow = checkForeignBpfAllow(c, fields.entries.get("foreign_bpf_allow"));
  if (mode === undefined || allow === undefined) return undefined;
  return {
    mode,
    block_environ_read: blockEnviron ?? DEFAULTS.block_environ_read,
    block_mem_read: blockMem ?? DEFAULTS.block_mem_read,
    block_ptrace: blockPtrace ?? DEFAULTS.block_ptrace,
    foreign_bpf: foreignBpf ?? DEFAULTS.foreign_bpf,
    foreign_bpf_allow: allow,
  };
}

/** A sequence of items read by `item` (undefined when absent or when an item is invalid, reported). */
function sequenceField<T>(
  c: Checker,
  fields: Fields,
  name: string,
  expected: string,
  item: (node: unknown, path: string) => T | undefined,
): T[] | undefined | null {
  const entry = fields.entries.get(name);
  if (entry === undefined) return null;
  const node = entry.value;
  if (node === undefined) return undefined;
  if (!isSeq(node)) {
    c.invalid(entry, expected);
    return undefined;
  }
  const out: T[] = [];
  node.items.forEach((raw, index) => {
    const path = `${entry.path}[${index}]`;
    const value = item(c.resolve(raw, path), path);
    if (value !== undefined) out.push(value);
  });
  return out.length === node.items.length ? out : undefined;
}

/** A uid or gid: a number, or (with `names`) a user or group name. */
function accountId(c: Checker, node: unknown, path: string, names: boolean): AccountId | undefined {
  if (node === undefined) return undefined;
  const expected = names
    ? "a name or a number from 0 to 4294967294"
    : "a number from 0 to 4294967294";
  if (isScalar(node)) {
    const value = node.value;
    if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value <= MAX_ID) {
      return value;
    }
    if (names && typeof value === "string" && new RegExp(ACCOUNT_NAME_PATTERN).test(value)) {
      return value;
    }
  }
  c.issue(node, path, `must be ${expected}: current value is ${describe(node)}`);
  return undefined;
}

function checkForeignBpfAllow(
  c: Checker,
  entry: Entry | undefined,
): ProtectionPolicy["foreign_bpf_allow"] | undefined {
  if (entry === undefined) return { uids: [], cgroups: [] };
  const fields = c.mapping(entry.value, entry.path, KEYS.foreign_bpf_allow);
  if (fields === undefined) return undefined;
  const uids = sequenceField(
    c,
    fields,
    "uids",
    "a sequence of uids",
    (node, path) => accountId(c, node, path, false) as number | undefined,
  );
  const cgroups = sequenceField(
    c,
    fields,
    "cgroups",
    "a sequence of cgroup paths",
    (node, path) => {
      if (isScalar(node) && typeof node.value === "string" && node.value.startsWith("/")) {
        return node.value;
      }
      c.issue(
        node,
        path,
        `must be a cgroup v2 path such as "/system.slice/falco.service": current value is ${
          describe(node)
        }`,
      );
      return undefined;
    },
  );
  if (uids === undefined || cgroups === undefined) return undefined;
  return { uids: uids ?? [], cgroups: cgroups ?? [] };
}

function checkWorkload(c: Checker, entry: Entry | undefined): WorkloadPolicy | undefined {
  if (entry === undefined) return {};
  const fields = c.mapping(entry.value, entry.path, KEYS.workload);
  if (fields === undefined) return undefined;
  const one = (name: string) => {
    const e = fields.entries.get(name);
    return e === undefined ? null : accountId(c, e.value, e.path, true);
  };
  const user = one("user");
  const group = one("group");
  const groups = sequenceField(
    c,
    fields,
    "groups",
    "a sequence of group names or numbers",
    (node, path) => accountId(c, node, path, true),
  );
  const capabilities = sequenceField(
    c,
    fields,
    "capabilities",
    "a sequence of capability names",
    (node, path) => {
      if (isScalar(node) && typeof node.value === "string") {
        const n = capabilityNumber(node.value);
        if (n !== undefined) return CAPABILITY_NAMES[n];
      }
      c.issue(
        node,
        path,
        `must be a capability name such as CAP_NET_BIND_SERVICE: current value is ${
          describe(node)
        }`,
      );
      return undefined;
    },
  );
  if (user === undefined || group === undefined || groups === undefined) return undefined;
  if (capabilities === undefined) return undefined;
  return {
    ...(user !== null ? { user } : {}),
    ...(group !== null ? { group } : {}),
    ...(groups !== null ? { groups } : {}),
    ...(capabilities !== null ? { capabilities: [...new Set(capabilities)] } : {}),
  };
}

function checkAudit(c: Checker, entry: Entry | undefined): AuditConfig | undefined {
  const defaults: AuditConfig = { output: DEFAULTS.audit_output, format: DEFAULTS.audit_format };
  if (entry === undefined) return defaults;
  const fields = c.mapping(entry.value, entry.path, KEYS.audit);
  if (fields === undefined) return undefined;
  const output = stringField(c, fields, "output", {
    pattern: AUDIT_OUTPUT_PATTERN,
    expected: `"stderr", "stdout" or an absolute file path`,
  });
  const format = enumField(c, fields, "format", AUDIT_FORMATS);
  return { output: output ?? defaults.output, format: format ?? defaults.format };
}

function checkRotation(c: Checker, entry: Entry | undefined): RotationConfig | undefined {
  const defaults: RotationConfig = {
    on_change: DEFAULTS.on_change,
    signal: DEFAULTS.signal,
    stop_signal: DEFAULTS.stop_signal,
    grace_period_ms: parseDuration(DEFAULTS.grace_period)!,
    poll_interval_ms: parseDuration(DEFAULTS.poll_interval)!,
  };
  if (entry === undefined) return defaults;
  const fields = c.mapping(entry.value, entry.path, KEYS.rotation);
  if (fields === undefined) return undefined;
  const onChange = enumField(c, fields, "on_change", ON_CHANGE) ?? defaults.on_change;
  const signal = enumField(c, fields, "signal", RELOAD_SIGNALS);
  const signalEntry = fields.entries.get("signal");
  if (signalEntry !== undefined && onChange !== "signal") {
    c.issue(
      signalEntry.key,
      signalEntry.path,
      `is only used with 'on_change: signal': current on_change is ${JSON.stringify(onChange)}`,
    );
  }
  const stopSignal = enumField(c, fields, "stop_signal", STOP_SIGNALS);
  const grace = durationField(c, fields, "grace_period", 0);
  const poll = durationField(c, fields, "poll_interval", 1000);
  return {
    on_change: onChange,
    signal: signal ?? defaults.signal,
    stop_signal: stopSignal ?? defaults.stop_signal,
    grace_period_ms: grace ?? defaults.grace_period_ms,
    poll_interval_ms: poll ?? defaults.poll_interval_ms,
  };
}

function checkVault(c: Checker, entry: Entry, mode: Mode | undefined): VaultConfig | undefined {
  const fields = c.mapping(entry.value, entry.path, KEYS.vault);
  if (fields === undefined) return undefined;
  const address = stringField(c, fields, "address", {
    pattern: VAULT_ADDRESS_PATTERN,
    expected: "an http:// or https:// URL such as https://vault.example:8200, without user info",
    credential: (value) => value.includes("@"),
  });
  const namespace = stringField(c, fields, "namespace");
  const caCert = stringField(c, fields, "ca_cert", ABSOLUTE_PATH);
  const caPath = stringField(c, fields, "ca_path", ABSOLUTE_PATH);
  const clientCert = stringField(c, fields, "client_cert", ABSOLUTE_PATH);
  const clientKey = stringField(c, fields, "client_key", CREDENTIAL_PATH);
  const serverName = stringField(c, fields, "tls_server_name");
  const skipVerify = booleanField(c, fields, "tls_skip_verify") ?? DEFAULTS.tls_skip_verify;
  const allowInsecure = booleanField(c, fields, "allow_insecure") ?? DEFAULTS.allow_insecure;
  const maxRetries = integerField(c, fields, "max_retries", 0, "a non-negative integer");
  const timeout = durationField(c, fields, "timeout", 1);
  const authEntry = fields.entries.get("auth");
  const auth = authEntry === undefined
    ? { method: "token" as const }
    : checkAuth(c, authEntry, fields.entries.has("client_cert"));

  for (const [present, other] of [["client_cert", "client_key"], ["client_key", "client_cert"]]) {
    if (fields.entries.has(present!) && !fields.entries.has(other!)) {
      c.missing(fields, other!, ` when '${join(fields.path, present!)}' is set`);
    }
  }
  if (mode === "enforce" && !allowInsecure) {
    const addressEntry = fields.entries.get("address");
    if (address?.startsWith("http://") && addressEntry) {
      c.invalid(
        addressEntry,
        "an https:// URL in enforce mode unless 'vault.allow_insecure' is true",
      );
    }
    const skipEntry = fields.entries.get("tls_skip_verify");
    if (skipVerify && skipEntry) {
      c.invalid(skipEntry, "false in enforce mode unless 'vault.allow_insecure' is true");
    }
  }
  if (auth === undefined) return undefined;
  return {
    ...(address !== undefined ? { address } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    ...(caCert !== undefined ? { ca_cert: caCert } : {}),
    ...(caPath !== undefined ? { ca_path: caPath } : {}),
    ...(clientCert !== undefined ? { client_cert: clientCert } : {}),
    ...(clientKey !== undefined ? { client_key: clientKey } : {}),
    ...(serverName !== undefined ? { tls_server_name: serverName } : {}),
    tls_skip_verify: skipVerify,
    allow_insecure: allowInsecure,
    max_retries: maxRetries ?? DEFAULTS.max_retries,
    timeout_ms: timeout ?? parseDuration(DEFAULTS.timeout)!,
    auth,
  };
}

/** Every auth key, and `path` (Vault Agent's name for the JWT file), reported with a hint below. */
const ALL_AUTH_KEYS = [...new Set(Object.values(KEYS.auth).flat()), "path"];

function checkAuth(c: Checker, entry: Entry, hasClientCert: boolean): VaultAuthConfig | undefined {
  const fields = c.mapping(entry.value, entry.path, ALL_AUTH_KEYS);
  if (fields === undefined) return undefined;
  const method = enumField(c, fields, "method", AUTH_METHODS, { required: true });
  if (method === undefined) return undefined;
  const agentPath = fields.entries.get("path");
  if (agentPath !== undefined && method === "jwt") {
    c.issue(
      agentPath.key,
      agentPath.path,
      "is Vault Agent's name for the JWT file: X00 calls it 'token_path', as for kubernetes",
    );
  }
  c.onlyAllowed(
    fields,
    method === "jwt" ? [...KEYS.auth.jwt, "path"] : KEYS.auth[method],
    `for auth method "${method}"`,
  );
  const mountPath = stringField(c, fields, "mount_path", VAULT_PATH);
  switch (method) {
    case "token": {
      const tokenFile = stringField(c, fields, "token_file_path", CREDENTIAL_PATH);
      return { method, ...(tokenFile !== undefined ? { token_file_path: tokenFile } : {}) };
    }
    case "approle": {
      const why = ` for auth method "approle"`;
      const roleId = stringField(c, fields, "role_id_file_path", {
        ...CREDENTIAL_PATH,
        required: true,
        why,
      });
      const secretId = stringField(c, fields, "secret_id_file_path", {
        ...CREDENTIAL_PATH,
        required: true,
        why,
      });
      const remove = booleanField(c, fields, "remove_secret_id_file_after_reading");
      const wrappingPath = stringField(c, fields, "secret_id_response_wrapping_path", VAULT_PATH);
      if (roleId === undefined || secretId === undefined) return undefined;
      return {
        method,
        mount_path: mountPath ?? DEFAULTS.approle_mount_path,
        role_id_file_path: roleId,
        secret_id_file_path: secretId,
        remove_secret_id_file_after_reading: remove ?? DEFAULTS.remove_secret_id_file_after_reading,
        ...(wrappingPath !== undefined ? { secret_id_response_wrapping_path: wrappingPath } : {}),
      };
    }
    case "kubernetes": {
      const role = stringField(c, fields, "role", {
        required: true,
        why: ` for auth method "kubernetes"`,
      });
      const tokenPath = stringField(c, fields, "token_path", CREDENTIAL_PATH);
      if (role === undefined) return undefined;
      return {
        method,
        mount_path: mountPath ?? DEFAULTS.kubernetes_mount_path,
        role,
        token_path: tokenPath ?? DEFAULTS.kubernetes_token_path,
      };
    }
    case "jwt": {
      const why = ` for auth method "jwt"`;
      const role = stringField(c, fields, "role", { required: true, why });
      const tokenPath = stringField(c, fields, "token_path", {
        ...CREDENTIAL_PATH,
        required: agentPath === undefined,
        why,
      });
      const remove = booleanField(c, fields, "remove_jwt_after_reading");
      if (role === undefined || tokenPath === undefined) return undefined;
      return {
        method,
        mount_path: mountPath ?? DEFAULTS.jwt_mount_path,
        role,
        token_path: tokenPath,
        remove_jwt_after_reading: remove ?? DEFAULTS.remove_jwt_after_reading,
      };
    }
    case "cert": {
      const name = stringField(c, fields, "name");
      if (!hasClientCert) {
        const m = fields.entries.get("method")!;
        c.issue(
          m.value,
          m.path,
          `is "cert", which needs 'vault.client_cert' and 'vault.client_key': the TLS client ` +
            "certificate is the credential",
        );
        return undefined;
      }
      return {
        method,
        mount_path: mountPath ?? DEFAULTS.cert_mount_path,
        ...(name !== undefined ? { name } : {}),
      };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Secrets

/** Where a name or a variable was first used, for "already used by" messages. */
interface FirstUse {
  path: string;
  /** The value node, for messages about it. */
  node?: unknown;
}

/** What earlier entries of `secrets:` used. */
interface Seen {
  names: Map<string, FirstUse>;
  vars: Map<string, FirstUse>;
  /** The `type` node and path of every Vault source. */
  vaultSources: { node: unknown; path: string }[];
  /** Entries without a delivery of their own (allowed when a template reads them). */
  undelivered: { node: unknown; path: string; name: string | undefined }[];
  /** `all_keys` prefixes. */
  prefixes: { prefix: string; path: string; node: unknown }[];
  /** Names of the secrets templates read. */
  readByTemplates: Set<string>;
  /** A template could not be parsed: which secrets templates read is not known. */
  templatesIncomplete?: boolean;
}

/** A fresh {@linkcode Seen}. */
function newSeen(): Seen {
  return {
    names: new Map(),
    vars: new Map(),
    vaultSources: [],
    undelivered: [],
    prefixes: [],
    readByTemplates: new Set(),
  };
}

function checkSecrets(
  c: Checker,
  entry: Entry | undefined,
  hasVault: boolean,
  seen: Seen,
): SecretSpec[] | undefined {
  if (entry === undefined) return [];
  const node = entry.value;
  if (node === undefined) return undefined;
  if (!isSeq(node)) {
    c.invalid(entry, "a sequence of secret entries");
    return undefined;
  }
  const secrets: SecretSpec[] = [];
  node.items.forEach((item, index) => {
    const path = `${entry.path}[${index}]`;
    const secret = checkSecret(c, c.resolve(item, path), path, seen);
    if (secret !== undefined) secrets.push(secret);
  });
  const firstVault = seen.vaultSources[0];
  if (firstVault !== undefined && !hasVault) {
    c.issue(firstVault.node, "vault", `is required because '${firstVault.path}' is a Vault source`);
  }
  return secrets.length === node.items.length ? secrets : undefined;
}

function checkSecret(
  c: Checker,
  node: unknown,
  path: string,
  seen: Seen,
): SecretSpec | undefined {
  const fields = c.mapping(node, path, KEYS.secret);
  if (fields === undefined) return undefined;

  const name = stringField(c, fields, "name", {
    required: true,
    pattern: SECRET_NAME_PATTERN,
    expected: "a secret name (letters, digits, '_', '.' and '-', starting with a letter or digit)",
  });
  if (name !== undefined) {
    const first = seen.names.get(name);
    const nameEntry = fields.entries.get("name")!;
    if (first) {
      c.issue(
        nameEntry.value,
        nameEntry.path,
        `must be unique: ${JSON.stringify(name)} is already used by '${first.path}'`,
      );
    } else {
      seen.names.set(name, { path });
    }
  }

  const sourceEntry = fields.entries.get("source");
  if (sourceEntry === undefined) c.missing(fields, "source");
  const source = sourceEntry === undefined ? undefined : checkSource(c, sourceEntry, seen);

  const deliveryEntry = fields.entries.get("delivery");
  const keysEntry = fields.entries.get("keys");
  const deliveries = new Map<string, Delivery>();
  let complete = source !== undefined && name !== undefined;

  const allKeysEntry = fields.entries.get("all_keys");
  let allKeys: SecretSpec["all_keys"];
  const forms = [deliveryEntry, keysEntry, allKeysEntry].filter((e) => e !== undefined);
  if (forms.length > 1) {
    c.issue(
      forms[1]!.key,
      path,
      `must have one of 'delivery', 'keys' or 'all_keys', not several`,
    );
    complete = false;
  } else if (forms.length === 0) {
    // Allowed when a template reads it: checked once templates are known.
    seen.undelivered.push({ node: fields.node, path, name });
  } else if (allKeysEntry) {
    if (source !== undefined && source.spec.type !== "vault") {
      c.issue(
        allKeysEntry.key,
        allKeysEntry.path,
        `is only allowed for Vault sources: current source type is ${
          JSON.stringify(source.spec.type)
        }`,
      );
      complete = false;
    } else if (source?.spec.type === "vault" && source.spec.key !== undefined) {
      const keyEntry = source.fields.entries.get("key")!;
      c.issue(
        keyEntry.key,
        keyEntry.path,
        `is not allowed with 'all_keys' (every key is delivered)`,
      );
      complete = false;
    }
    const d = checkDelivery(
      c,
      allKeysEntry,
      new Map(),
      "a variable name prefix such as DB_",
      KEYS.all_keys,
    );
    if (d === undefined) complete = false;
    else {
      allKeys = { kind: d.kind, prefix: d.var };
      const node = (allKeysEntry.value as YAMLMap).get(d.kind, true);
      seen.prefixes.push({ prefix: d.var, path: `${allKeysEntry.path}.${d.kind}`, node });
    }
  } else if (deliveryEntry) {
    const delivery = checkDelivery(c, deliveryEntry, seen.vars);
    let key = "";
    if (source?.spec.type === "vault") {
      if (source.spec.key === undefined) {
        c.issue(
          source.fields.node,
          `${source.fields.path}.key`,
          `is required for a Vault source with 'delivery' (it names the key to deliver)`,
        );
        complete = false;
      } else {
        key = source.spec.key;
      }
    }
    if (delivery === undefined) complete = false;
    else deliveries.set(key, delivery);
  } else if (keysEntry) {
    if (source !== undefined && source.spec.type !== "vault") {
      c.issue(
        keysEntry.key,
        keysEntry.path,
        `is only allowed for Vault sources: current source type is ${
          JSON.stringify(source.spec.type)
        }`,
      );
      complete = false;
    } else {
      if (source?.spec.type === "vault" && source.spec.key !== undefined) {
        const keyEntry = source.fields.entries.get("key")!;
        c.issue(
          keyEntry.key,
          keyEntry.path,
          `is not allowed with 'keys' (each key of '${keysEntry.path}' names a Vault key)`,
        );
        complete = false;
      }
      const keys = c.mapping(keysEntry.value, keysEntry.path, null);
      if (keys === undefined) {
        complete = false;
      } else if (keys.entries.size === 0) {
        c.invalid(keysEntry, "a mapping of at least one Vault key to its delivery");
        complete = false;
      } else {
        for (const [key, keyEntry] of keys.entries) {
          if (key === "") {
            c.issue(keyEntry.key, keyEntry.path, "must name a Vault key: current key is empty");
            complete = false;
            continue;
          }
          const delivery = checkDelivery(c, keyEntry, seen.vars);
          if (delivery === undefined) complete = false;
          else deliveries.set(key, delivery);
        }
      }
    }
  }
  if (keysEntry && isMap(sourceEntry?.value) && sourceEntry.value.get("engine") === "pki") {
    complete = checkPkiKeys(c, keysEntry) && complete;
  }
  if (!complete || source === undefined || name === undefined) return undefined;
  return { name, source: source.spec, deliveries, ...(allKeys ? { all_keys: allKeys } : {}) };
}

const ALL_SOURCE_KEYS = [...new Set(Object.values(KEYS.source).flat())];

function checkSource(
  c: Checker,
  entry: Entry,
  seen: Seen,
): { spec: Source; fields: Fields } | undefined {
  const fields = c.mapping(entry.value, entry.path, ALL_SOURCE_KEYS);
  if (fields === undefined) return undefined;
  const type = enumField(c, fields, "type", SOURCE_TYPES, { required: true });
  if (type === undefined) return undefined;
  if (type === "vault") {
    seen.vaultSources.push({ node: fields.entries.get("type")!.value, path: entry.path });
  }
  c.onlyAllowed(fields, KEYS.source[type], `for source type "${type}"`);
  switch (type) {
    case "file": {
      const path = stringField(c, fields, "path", { ...ABSOLUTE_PATH, required: true });
      return path === undefined ? undefined : { spec: { type, path }, fields };
    }
    case "env": {
      const name = stringField(c, fields, "var", { ...ENV_NAME, required: true });
      return name === undefined ? undefined : { spec: { type, var: name }, fields };
    }
    case "vault": {
      const spec = checkVaultSource(c, fields);
      return spec === undefined ? undefined : { spec, fields };
    }
  }
}

function checkVaultSource(c: Checker, fields: Fields): VaultSource | undefined {
  const engine = enumField(c, fields, "engine", ENGINES, { required: true });
  if (engine === "pki") return checkPkiSource(c, fields);
  const path = stringField(c, fields, "path", { ...VAULT_PATH, required: true });
  const key = stringField(c, fields, "key");
  let ok = engine !== undefined && path !== undefined;
  let mount: string | undefined;
  let version: number | undefined;
  if (engine === "dynamic") {
    c.onlyAllowed(fields, ["type", "engine", "path", "key"], `for engine "dynamic"`);
  } else if (engine !== undefined) {
    mount = stringField(c, fields, "mount", {
      ...VAULT_PATH,
      required: true,
      why: ` for engine "${engine}"`,
    });
    ok &&= mount !== undefined;
    if (engine === "kv-v2") {
      c.onlyAllowed(
        fields,
        ["type", "engine", "mount", "path", "key", "version"],
        `for engine "kv-v2"`,
      );
      version = integerField(c, fields, "version", 1, "a positive integer");
      ok &&= version !== undefined || !fields.entries.has("version");
    } else {
      c.onlyAllowed(fields, ["type", "engine", "mount", "path", "key"], `for engine "kv-v1"`);
    }
  }
  if (!ok || engine === undefined || path === undefined) return undefined;
  if (fields.entries.has("key") && key === undefined) return undefined;
  return {
    type: "vault",
    engine,
    ...(mount !== undefined ? { mount } : {}),
    path,
    ...(version !== undefined ? { version } : {}),
    ...(key !== undefined ? { key } : {}),
  };
}

/** Vault's role names (`framework.GenericNameRegex`). */
const PKI_ROLE = {
  pattern: PKI_ROLE_PATTERN,
  expected: "a PKI role name (letters, digits, '_', '-' and '.')",
};

function checkPkiSource(c: Checker, fields: Fields): VaultSource | undefined {
  c.onlyAllowed(fields, ["type", "engine", "mount", "key", ...PKI_SOURCE_KEYS], `for engine "pki"`);
  const why = ` for engine "pki"`;
  const mount = stringField(c, fields, "mount", { ...VAULT_PATH, required: true, why });
  const role = stringField(c, fields, "role", { ...PKI_ROLE, required: true, why });
  const commonName = stringField(c, fields, "common_name", { required: true, why });
  const key = stringField(c, fields, "key");
  let ok = mount !== undefined && role !== undefined && commonName !== undefined &&
    (key !== undefined || !fields.entries.has("key"));
  if (key !== undefined && !(PKI_KEYS as readonly string[]).includes(key)) {
    c.invalid(
      fields.entries.get("key")!,
      `one of the keys of Vault's pki/issue answer (${PKI_KEYS.join(", ")})`,
    );
    ok = false;
  }
  const names = (name: string): string[] | undefined => {
    const list = sequenceField(c, fields, name, "a sequence of names", (item, path) => {
      if (item === undefined) return undefined;
      if (isScalar(item) && typeof item.value === "string" && /^[^,\s]+$/.test(item.value)) {
        return item.value;
      }
      c.issue(
        item,
        path,
        `must be a non-empty string without ',' or spaces: current value is ${describe(item)}`,
      );
      return undefined;
    });
    if (list === null) return undefined;
    if (list === undefined) ok = false;
    return list;
  };
  const altNames = names("alt_names");
  const ipSans = names("ip_sans");
  const uriSans = names("uri_sans");
  let ttlS: number | undefined;
  const ttlEntry = fields.entries.get("ttl");
  if (ttlEntry !== undefined) {
    const expected =
      "a duration of whole seconds such as 90s, 72h or 720h (at least 1s, at most 87600h)";
    const text = c.scalar(ttlEntry, "string", expected);
    const ms = text === undefined ? undefined : parseDuration(text);
    if (ms === undefined || ms < 1000 || ms % 1000 !== 0 || ms > MAX_PKI_TTL_MS) {
      if (text !== undefined) c.invalid(ttlEntry, expected);
      ok = false;
    } else {
      ttlS = ms / 1000;
    }
  }
  const exclude = booleanField(c, fields, "exclude_cn_from_sans");
  ok &&= exclude !== undefined || !fields.entries.has("exclude_cn_from_sans");
  let fraction: number = DEFAULTS.renew_fraction;
  const fractionEntry = fields.entries.get("renew_fraction");
  if (fractionEntry !== undefined) {
    const expected = "a number between 0 and 1, both excluded, such as 0.5 or 0.75";
    const value = c.scalar(fractionEntry, "number", expected);
    if (value === undefined || !(value > 0 && value < 1)) {
      if (value !== undefined) c.invalid(fractionEntry, expected);
      ok = false;
    } else {
      fraction = value;
    }
  }
  if (!ok || mount === undefined || role === undefined || commonName === undefined) {
    return undefined;
  }
  const pki: PkiRequest = { role, common_name: commonName, renew_fraction: fraction };
  if (altNames !== undefined) pki.alt_names = altNames;
  if (ipSans !== undefined) pki.ip_sans = ipSans;
  if (uriSans !== undefined) pki.uri_sans = uriSans;
  if (ttlS !== undefined) pki.ttl_s = ttlS;
  if (exclude !== undefined) pki.exclude_cn_from_sans = exclude;
  return {
    type: "vault",
    engine: "pki",
    mount,
    path: `issue/${role}`,
    pki,
    ...(key !== undefined ? { key } : {}),
  };
}

/** Reports every key of an `engine: pki` entry's `keys:` that Vault's pki/issue answer does not have. */
function checkPkiKeys(c: Checker, keysEntry: Entry): boolean {
  if (!isMap(keysEntry.value)) return true; // reported by checkSecret
  let ok = true;
  for (const pair of keysEntry.value.items) {
    const key = c.resolve(pair.key, keysEntry.path);
    if (!isScalar(key) || typeof key.value !== "string" || key.value === "") continue;
    if ((PKI_KEYS as readonly string[]).includes(key.value)) continue;
    c.issue(
      key,
      join(keysEntry.path, key.value),
      `is not a key of Vault's pki/issue answer: ${suggest(key.value, PKI_KEYS)}`,
    );
    ok = false;
  }
  return ok;
}

function checkDelivery(
  c: Checker,
  entry: Entry,
  vars: Map<string, FirstUse>,
  expected = ENV_NAME.expected,
  known: readonly string[] = KEYS.delivery,
): Delivery | undefined {
  const fields = c.mapping(entry.value, entry.path, known);
  if (fields === undefined) return undefined;
  const kinds = [...fields.entries.keys()] as ("env" | "file")[];
  if (kinds.length !== 1) {
    if (fields.node.items.length === kinds.length) {
      c.issue(
        fields.node,
        entry.path,
        `must have exactly one of 'env' (the value in a variable) or 'file' (a sealed memfd)`,
      );
    }
    return undefined;
  }
  const kind = kinds[0]!;
  const name = stringField(c, fields, kind, { ...ENV_NAME, expected });
  if (name === undefined) return undefined;
  const varEntry = fields.entries.get(kind)!;
  const first = vars.get(name);
  if (first) {
    c.issue(
      varEntry.value,
      varEntry.path,
      `must not deliver a variable twice: ${
        JSON.stringify(name)
      } is already delivered by '${first.path}'`,
    );
    return undefined;
  }
  vars.set(name, { path: varEntry.path, node: varEntry.value });
  return { kind, var: name };
}

// ---------------------------------------------------------------------------------------------------------------
// Templates

function checkTemplates(
  c: Checker,
  entry: Entry | undefined,
  secrets: readonly SecretSpec[],
  seen: Seen,
): TemplateSpec[] | undefined {
  if (entry === undefined) return [];
  const node = entry.value;
  if (node === undefined) return undefined;
  if (!isSeq(node)) {
    c.invalid(entry, "a sequence of template entries");
    return undefined;
  }
  const secretNames = new Set(seen.names.keys());
  const out: TemplateSpec[] = [];
  node.items.forEach((item, index) => {
    const path = `${entry.path}[${index}]`;
    const fields = c.mapping(c.resolve(item, path), path, KEYS.template);
    if (fields === undefined) return;
    const name = stringField(c, fields, "name", {
      required: true,
      pattern: SECRET_NAME_PATTERN,
      expected: "a name of letters, digits, '_', '.' and '-', starting with a letter or digit",
    });
    if (name !== undefined) {
      const first = seen.names.get(name);
      const nameEntry = fields.entries.get("name")!;
      if (first) {
        c.issue(
          nameEntry.value,
          nameEntry.path,
          `must be unique among secrets and templates: ${
            JSON.stringify(name)
          } is already used by '${first.path}'`,
        );
      } else {
        seen.names.set(name, { path });
      }
    }
    const text = stringField(c, fields, "template", { required: true });
    const deliveryEntry = fields.entries.get("delivery");
    if (deliveryEntry === undefined) c.missing(fields, "delivery");
    const delivery = deliveryEntry && checkDelivery(c, deliveryEntry, seen.vars);
    if (text === undefined) return;
    const textEntry = fields.entries.get("template")!;
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
      return;
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
    if (!ok || name === undefined || delivery === undefined) return;
    out.push({ name, parts: parsed.parts, secrets: read, delivery });
  });
  return out.length === node.items.length ? out : undefined;
}

/** Every secret delivered somewhere; no variable both named and inside an `all_keys` prefix. */
function checkDeliveredOnce(c: Checker, seen: Seen): void {
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
