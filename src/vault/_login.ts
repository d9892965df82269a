/**
 * Internal: what the login methods share: the `auth/<mount>/login` request and its answer, mount-path
 * normalization, and reading credential files that may have been removed after a first read.
 *
 * @module
 */

import type { AuthLogin } from "./types.ts";
import type { VaultRequester } from "./types.ts";
import { VaultError } from "./errors.ts";
import { readTextFile } from "./_fs.ts";

/** `POST path` with `body` unauthenticated; returns the token of the answer's `auth` block. */
export async function loginRequest(
  client: VaultRequester,
  path: string,
  body: Record<string, string>,
  signal: AbortSignal | undefined,
): Promise<AuthLogin> {
  const res = await client.write(path, body, {
    authenticated: false,
    ...(signal ? { signal } : {}),
  });
  if (res.auth === null) {
    throw new VaultError(`Cannot log in with '${path}': Vault's answer has no auth block`, {
      kind: "invalid_response",
      path,
    });
  }
  client.markSensitive(res.auth.client_token);
  return {
    token: res.auth.client_token,
    leaseDurationS: res.auth.lease_duration,
    renewable: res.auth.renewable,
  };
}

/** Reads a trimmed credential file, falling back to `cached` when it is gone or empty. */
export async function readCached(
  path: string,
  what: string,
  cached: string | undefined,
): Promise<string> {
  try {
    const v = (await Deno.readTextFile(path)).trim();
    if (v !== "") return v;
  } catch {
    // fall through to the cache
  }
  if (cached !== undefined) return cached;
  const v = (await readTextFile(path, what, "auth")).trim();
  if (v === "") {
    throw new VaultError(`Cannot authenticate to Vault: ${what} '${path}' is empty`, {
      kind: "auth",
    });
  }
  return v;
}

/** `approle`, `/approle/` and Vault Agent's `auth/approle` all name the mount `approle`. */
export function authMount(s: string): string {
  return s.replace(/^\/+|\/+$/g, "").replace(/^auth\//, "");
}

/** Deletes a credential file after reading it, logging the outcome (never the content). */
export async function removeAfterReading(
  client: VaultRequester,
  path: string,
  what: string,
): Promise<void> {
  try {
    await Deno.remove(path);
    client.logger("info", `Removed ${what} '${path}' after reading it`);
  } catch (err) {
    client.logger(
      "warn",
      `Cannot remove ${what} '${path}': ${err instanceof Error ? err.name : "error"}`,
    );
  }
}
