/**
 * The one exchange between `x00 exec` and `x00 agent` over the agent's Unix socket. The client writes one request
 * line; the agent answers with one message and closes: a JSON header, and the secret memfds and references to the
 * agent's BPF links as SCM_RIGHTS descriptors (memfds first, in the order of `files`, then the links).
 *
 * The agent never trusts what the request says about the client: who connected is what the kernel recorded at
 * connect time (bpf/lsm_file_protect.bpf.c, `unix_connect`). The request only names which client entry of the
 * policy the process wants to be (`x00 exec --name`).
 *
 * @module
 */

/** Version of the exchange. */
export const PROTOCOL_VERSION = 1;

/** The largest request the agent reads. */
export const MAX_REQUEST_BYTES = 4096;

/** The largest answer a client accepts (environment values included). */
export const MAX_RESPONSE_BYTES = 1 << 20;

/** What `x00 exec` asks for. */
export interface DeliveryRequest {
  v: typeof PROTOCOL_VERSION;
  /** The `clients[].name` to be served as; absent: the first entry whose identity matches. */
  name?: string;
}

/** What the agent answers. */
export type DeliveryResponse =
  | {
    v: typeof PROTOCOL_VERSION;
    ok: true;
    /** The client entry it was served as. */
    client: string;
    /** Variables to add to the environment (env deliveries). */
    env: Record<string, string>;
    /** Variables that name a memfd (file deliveries), in the order of the descriptors. */
    files: string[];
    /** How many link references follow the memfds. */
    links: number;
  }
  | { v: typeof PROTOCOL_VERSION; ok: false; error: string };

/** A malformed request or answer (one line, no data echoed). */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

const isRecordOfStrings = (v: unknown): v is Record<string, string> =>
  typeof v === "object" && v !== null && !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === "string");

/** Parses a request line. */
export function parseRequest(bytes: Uint8Array): DeliveryRequest {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ProtocolError("the request is not JSON");
  }
  const r = value as Partial<DeliveryRequest>;
  if (typeof r !== "object" || r === null || r.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(`the request is not version ${PROTOCOL_VERSION}`);
  }
  if (r.name !== undefined && (typeof r.name !== "string" || r.name.length > 256)) {
    throw new ProtocolError("the request's name is not a string");
  }
  return r.name === undefined ? { v: PROTOCOL_VERSION } : { v: PROTOCOL_VERSION, name: r.name };
}

/** Parses an answer; `fdCount` is how many descriptors arrived with it. */
export function parseResponse(bytes: Uint8Array, fdCount: number): DeliveryResponse {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ProtocolError("the agent's answer is not JSON");
  }
  const r = value as Record<string, unknown>;
  if (typeof r !== "object" || r === null || r.v !== PROTOCOL_VERSION) {
    throw new ProtocolError(`the agent's answer is not version ${PROTOCOL_VERSION}`);
  }
  if (r.ok === false) {
    return { v: PROTOCOL_VERSION, ok: false, error: String(r.error ?? "refused") };
  }
  const files = r.files;
  if (
    r.ok !== true || typeof r.client !== "string" || !isRecordOfStrings(r.env) ||
    !Array.isArray(files) || !files.every((f) => typeof f === "string") ||
    typeof r.links !== "number" || files.length + r.links !== fdCount
  ) {
    throw new ProtocolError("the agent's answer is malformed");
  }
  return {
    v: PROTOCOL_VERSION,
    ok: true,
    client: r.client,
    env: r.env,
    files: files as string[],
    links: r.links,
  };
}

/** Encodes a request or an answer. */
export function encode(message: DeliveryRequest | DeliveryResponse): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message) + "\n");
}
