/**
 * Vault as a secret source for `x00 run`: builds a {@linkcode VaultClient} from the policy's `vault:` section and
 * the `VAULT_*` variables, provides one {@linkcode VaultSecretSource} per Vault secret entry, and a
 * {@linkcode VaultRotationWatcher} that tells the supervisor when an entry's delivered values changed.
 *
 * For the supervisor:
 *
 * ```ts ignore
 * const vault = await createVaultSources(policy, { env: Deno.env.toObject(), logger });
 * const sources = createSources(policy.secrets, vault?.factory);
 * const fetched = await fetchAll(sources);         // concurrent; exit code 5 on failure
 * vault?.watcher.subscribe((e) => {
 *   if (e.type === "changed") { ...restart / signal / ignore per policy.rotation, then zeroSecret(e.secret) }
 *   else log(e.error.message);                        // later failures: the workload keeps running
 * });
 * vault?.watcher.start();
 * ...
 * await vault?.close();
 * ```
 *
 * @module
 */

import type { Mode, Policy, SecretSpec } from "../../policy/types.ts";
import type { SecretSource } from "../source.ts";
import { VaultClient } from "../../vault/mod.ts";

import { X00Error } from "../../errors.ts";
import { createVaultClient, type VaultSetupOptions } from "./connection.ts";
import { VaultSecretSource } from "./source.ts";
import { VaultRotationWatcher } from "./rotation.ts";

export * from "./connection.ts";
export * from "./errors.ts";
export * from "./source.ts";
export * from "./rotation.ts";

/** What {@linkcode createVaultSources} returns. */
export interface VaultSources {
  /** The shared client (closed by {@linkcode VaultSources.close}). */
  client: VaultClient;
  /** One source per Vault entry of the policy, in policy order. */
  sources: VaultSecretSource[];
  /** The rotation watcher over those sources (not started). */
  watcher: VaultRotationWatcher;
  /** For `createSources(policy.secrets, factory)` in `src/secrets/mod.ts`: the entry's source, built above. */
  factory: (spec: SecretSpec) => SecretSource;
  /** Closes the watcher, the sources and the client. */
  close(): Promise<void>;
}

/**
 * Creates the Vault client, the sources of every Vault entry of `policy` and their watcher. Returns `undefined`
 * when the policy has no Vault entry.
 *
 * @throws {X00Error} See {@linkcode createVaultClient}.
 *
 * @example Usage
 * ```ts ignore
 * const vault = await createVaultSources(policy, { env: Deno.env.toObject(), logger });
 * ```
 */
export async function createVaultSources(
  policy: Policy,
  options: Omit<VaultSetupOptions, "mode"> & { mode?: Mode },
): Promise<VaultSources | undefined> {
  const specs = policy.secrets.filter((s) => s.source.type === "vault");
  if (specs.length === 0) return undefined;
  const logger = options.logger ?? (() => {});
  const client = await createVaultClient(policy.vault, {
    ...options,
    mode: options.mode ?? policy.policy.mode,
  });
  const sources = specs.map((spec) => new VaultSecretSource(client, spec, { logger }));
  const watcher = new VaultRotationWatcher(sources, {
    pollIntervalMs: policy.rotation.poll_interval_ms,
    logger,
  });
  const byName = new Map(sources.map((s) => [s.name, s]));
  return {
    client,
    sources,
    watcher,
    factory: (spec) => {
      const s = byName.get(spec.name);
      if (s === undefined) {
        throw new X00Error(
          `Cannot fetch secret '${spec.name}': it is not a Vault entry of the policy`,
        );
      }
      return s;
    },
    close: async () => {
      await watcher.close();
      await Promise.all(sources.map((s) => s.close()));
      await client.close();
    },
  };
}
