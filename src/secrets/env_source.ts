/**
 * The `env` secret source: a variable of X00's own environment. The workload must not inherit it: the spawner
 * removes {@linkcode envSourceVariables} from the environment it passes on, then adds the deliveries.
 *
 * @module
 */

import { ExitCode, X00Error } from "../errors.ts";
import type { EnvSource, SecretSpec } from "../policy/types.ts";
import type { FetchedSecret, FetchOptions, SecretSource } from "./source.ts";

/** Options for {@linkcode EnvSecretSource}. */
export interface EnvSecretSourceOptions {
  /** Reads a variable; defaults to `Deno.env.get`. Tests pass a map's `get`. */
  getEnv?: (name: string) => string | undefined;
}

/**
 * Reads a secret from a variable of X00's own environment, as UTF-8 bytes. Errors name the secret entry and the
 * variable, never the value.
 *
 * @example Usage
 * ```ts
 * import { EnvSecretSource } from "./env_source.ts";
 *
 * const env = new Map([["API_TOKEN", "t0ken"]]);
 * const source = new EnvSecretSource(
 *   "api-token",
 *   { type: "env", var: "API_TOKEN" },
 *   { getEnv: (name) => env.get(name) },
 * );
 * const secret = await source.fetch();
 * console.log(secret.values.get("")?.length); // 5
 * ```
 */
export class EnvSecretSource implements SecretSource {
  /** The secret entry's name. */
  readonly name: string;
  /** The variable read. */
  readonly variable: string;
  readonly #getEnv: (name: string) => string | undefined;

  /**
   * Constructs a new instance. Nothing is read until {@linkcode fetch}.
   *
   * @param name The secret entry's name (for messages).
   * @param source The entry's `source:` from the policy.
   * @param options How to read the environment.
   */
  constructor(name: string, source: EnvSource, options: EnvSecretSourceOptions = {}) {
    this.name = name;
    this.variable = source.var;
    this.#getEnv = options.getEnv ?? ((variable) => Deno.env.get(variable));
  }

  /**
   * Reads the variable.
   *
   * @param options `signal`: an aborted signal rejects with its reason.
   * @returns The value's UTF-8 bytes under the key `""`.
   * @throws {X00Error} With exit code {@linkcode ExitCode.SECRET_UNAVAILABLE} when the variable is unset, empty
   * or cannot be read (no `--allow-env`).
   */
  fetch(options: FetchOptions = {}): Promise<FetchedSecret> {
    try {
      options.signal?.throwIfAborted();
      let value: string | undefined;
      try {
        value = this.#getEnv(this.variable);
      } catch (error) {
        throw this.#unavailable(`cannot be read: ${firstLine(error)}`, error);
      }
      if (value === undefined) throw this.#unavailable("is not set");
      if (value === "") throw this.#unavailable("is empty");
      return Promise.resolve({ values: new Map([["", new TextEncoder().encode(value)]]) });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #unavailable(what: string, cause?: unknown): X00Error {
    return new X00Error(
      `Cannot fetch secret '${this.name}' as environment variable '${this.variable}' ${what}`,
      { exitCode: ExitCode.SECRET_UNAVAILABLE, ...(cause !== undefined ? { cause } : {}) },
    );
  }
}

/**
 * The variables of X00's own environment that env sources read, in policy order without duplicates. The spawner
 * removes them from the environment the workload inherits, before adding the deliveries (so a secret delivered
 * under the same name is still delivered).
 *
 * @example Usage
 * ```ts
 * import { envSourceVariables } from "./env_source.ts";
 * import { parsePolicy } from "../policy/mod.ts";
 *
 * const policy = parsePolicy(
 *   `policy: { mode: enforce }
 * secrets:
 *   - name: api-token
 *     source: { type: env, var: API_TOKEN }
 *     delivery: { file: API_TOKEN_FILE }
 * `,
 *   "policy.yaml",
 * );
 * console.log(envSourceVariables(policy.secrets)); // ["API_TOKEN"]
 * ```
 *
 * @param secrets The policy's secrets.
 * @returns The variable names.
 */
export function envSourceVariables(secrets: readonly SecretSpec[]): string[] {
  const names = new Set<string>();
  for (const secret of secrets) {
    if (secret.source.type === "env") names.add(secret.source.var);
  }
  return [...names];
}

function firstLine(error: unknown): string {
  if (!(error instanceof Error)) return "unknown error";
  return error.message.split("\n")[0] ?? error.name;
}
