/**
 * Privilege checks with one-line errors naming the capability and the command.
 *
 * @module
 */
import { PermissionError } from "../errors.ts";
import { missingBpfCapability } from "../protect/capabilities.ts";
import { ensureMounted } from "../protect/kernel_fs.ts";

/** Throws a {@linkcode PermissionError} unless this process may load BPF programs; mounts tracefs if needed. */
export function requireBpf(command: string): void {
  const missing = missingBpfCapability();
  if (missing) throw new PermissionError(missing, command);
  ensureMounted("tracefs");
  ensureMounted("securityfs");
}
