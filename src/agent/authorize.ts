/**
 * Which `clients` entry of the policy a connected process is, by the identity the kernel recorded when it
 * connected (never by anything the process says about itself).
 *
 * @module
 */
import type { ClientPolicy } from "../policy/types.ts";

/** What the kernel saw of a connecting process (`struct x00_client_identity`). */
export interface ClientIdentity {
  /** Thread-group id in the initial pid namespace. */
  tgid: number;
  uid: number;
  gid: number;
  /** cgroup v2 id. */
  cgroupId: bigint;
  /** Its protection family. */
  family: number;
}

/** The verdict for one connection. */
export type Authorization =
  | { ok: true; client: ClientPolicy }
  | { ok: false; reason: string };

/** Whether cgroup path `path` is `prefix` or inside it. */
function within(path: string, prefix: string): boolean {
  const p = prefix.replace(/\/+$/, "");
  return p === "" || path === p || path.startsWith(`${p}/`);
}

/** Whether `id` (in cgroup `cgroupPath`, when known) has the identity `client` asks for. */
export function matches(client: ClientPolicy, id: ClientIdentity, cgroupPath?: string): boolean {
  if (client.uids && !client.uids.includes(id.uid)) return false;
  if (client.gids && !client.gids.includes(id.gid)) return false;
  if (client.cgroups) {
    if (cgroupPath === undefined) return false;
    if (!client.cgroups.some((c) => within(cgroupPath, c))) return false;
  }
  return true;
}

/**
 * Chooses the client entry for a connection: the one named `name` (which the identity must match), or the first
 * entry the identity matches.
 *
 * @example Usage
 * ```ts
 * import { authorize } from "./authorize.ts";
 *
 * const clients = [{ name: "web", uids: [1000] }];
 * const id = { tgid: 42, uid: 1000, gid: 1000, cgroupId: 1n, family: 42 };
 * console.log(authorize(clients, id, "/", undefined)); // { ok: true, client: { name: "web", uids: [1000] } }
 * ```
 */
export function authorize(
  clients: readonly ClientPolicy[],
  id: ClientIdentity,
  cgroupPath: string | undefined,
  name: string | undefined,
): Authorization {
  const who = `uid ${id.uid}, gid ${id.gid}, cgroup ${cgroupPath ?? `id ${id.cgroupId}`}`;
  if (name !== undefined) {
    const client = clients.find((c) => c.name === name);
    if (!client) return { ok: false, reason: `no client '${name}' in the agent's policy` };
    if (!matches(client, id, cgroupPath)) {
      return { ok: false, reason: `${who} is not client '${name}'` };
    }
    return { ok: true, client };
  }
  const client = clients.find((c) => matches(c, id, cgroupPath));
  return client ? { ok: true, client } : { ok: false, reason: `${who} matches no client` };
}
