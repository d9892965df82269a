/**
 * Internal: reading credential files with messages that name the file but never its content.
 *
 * @module
 */

import { VaultError } from "./errors.ts";

/** A file-system error's reason, without repeating the path. */
export function describeFsError(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file or directory";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "is a directory";
  return err instanceof Error ? err.name : "unreadable";
}

/** Reads a text file; throws a VaultError of `kind` naming `what` and the path. */
export async function readTextFile(
  path: string,
  what: string,
  kind: "config" | "auth" = "config",
): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    throw fileError(path, what, err, kind);
  }
}

/** The VaultError for a file that cannot be read. */
export function fileError(
  path: string,
  what: string,
  err: unknown,
  kind: "config" | "auth" = "config",
): VaultError {
  const cause = new Error(describeFsError(err));
  cause.name = err instanceof Error ? err.name : "Error";
  return new VaultError(`Cannot read ${what} '${path}': ${describeFsError(err)}`, { kind, cause });
}
