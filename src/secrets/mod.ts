/**
 * Secret sources and delivery. {@linkcode fetchAll} fetches every entry of a policy concurrently; a failure of any
 * entry is an `X00Error` with exit code 5 and the workload is not started.
 *
 * @module
 */
import { ExitCode, X00Error } from "../errors.ts";
import type { SecretSpec } from "../policy/types.ts";
import { EnvSecretSource } from "./env_source.ts";
import { FileSecretSource } from "./file_source.ts";
import { type FetchedSecret, type SecretSource, zeroSecret } from "./source.ts";

export * from "./source.ts";
export * from "./delivery.ts";
export { envSourceVariables } from "./env_source.ts";

/** Creates the source of a Vault entry (provided by the Vault integration). */
export type VaultSourceFactory = (spec: SecretSpec) => SecretSource;

/** One source per secret entry. */
export function createSources(
  specs: readonly SecretSpec[],
  vault?: VaultSourceFactory,
  getEnv?: (name: string) => string | undefined,
): SecretSource[] {
  return specs.map((spec) => {
    switch (spec.source.type) {
      case "file":
        return new FileSecretSource(spec.name, spec.source);
      case "env":
        return new EnvSecretSource(spec.name, spec.source, getEnv ? { getEnv } : {});
      case "vault":
        if (!vault) {
          throw new X00Error(
            `Cannot fetch secret '${spec.name}': no Vault connection is configured`,
            {
              exitCode: ExitCode.SECRET_UNAVAILABLE,
            },
          );
        }
        return vault(spec);
    }
  });
}

/**
 * Fetches every source concurrently. On any failure, values already fetched are zeroed and the first error is
 * thrown.
 */
export async function fetchAll(
  sources: readonly SecretSource[],
  signal?: AbortSignal,
): Promise<Map<string, FetchedSecret>> {
  const results = await Promise.allSettled(sources.map((s) => s.fetch({ signal })));
  const out = new Map<string, FetchedSecret>();
  let failure: unknown;
  results.forEach((r, i) => {
    if (r.status === "fulfilled") out.set(sources[i]!.name, r.value);
    else failure ??= r.reason;
  });
  if (failure !== undefined) {
    for (const s of out.values()) zeroSecret(s);
    if (failure instanceof X00Error) throw failure;
    throw new X00Error(
      `Cannot fetch secrets: ${failure instanceof Error ? failure.message : String(failure)}`,
      { exitCode: ExitCode.SECRET_UNAVAILABLE, cause: failure },
    );
  }
  return out;
}
