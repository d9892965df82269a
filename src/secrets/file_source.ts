/**
 * The `file` secret source: the whole content of a file is the value (e.g. a key of a Kubernetes Secret mounted
 * as a volume). No newline is stripped.
 *
 * @module
 */

import { ExitCode, X00Error } from "../errors.ts";
import type { FileSource } from "../policy/types.ts";
import type { FetchedSecret, FetchOptions, SecretSource } from "./source.ts";

/**
 * Reads a secret from a file each time {@linkcode FileSecretSource.fetch} is called. Errors name the secret entry,
 * the path and the operating system's reason; never the content.
 *
 * @example Usage
 * ```ts ignore
 * import { FileSecretSource } from "./file_source.ts";
 * import { zeroSecret } from "./source.ts";
 *
 * const source = new FileSecretSource("db-password", {
 *   type: "file",
 *   path: "/var/run/secrets/db/password",
 * });
 * const secret = await source.fetch();
 * const value = secret.values.get(""); // the file's bytes
 * // ... deliver value ...
 * zeroSecret(secret);
 * ```
 */
export class FileSecretSource implements SecretSource {
  /** The secret entry's name. */
  readonly name: string;
  /** The absolute path of the file. */
  readonly path: string;

  /**
   * Constructs a new instance. Nothing is read until {@linkcode fetch}.
   *
   * @param name The secret entry's name (for messages).
   * @param source The entry's `source:` from the policy.
   */
  constructor(name: string, source: FileSource) {
    this.name = name;
    this.path = source.path;
  }

  /**
   * Reads the whole file.
   *
   * @param options `signal` aborts the read.
   * @returns The content under the key `""`.
   * @throws {X00Error} With exit code {@linkcode ExitCode.SECRET_UNAVAILABLE} when the file is missing,
   * unreadable, not a regular file or empty.
   */
  async fetch(options: FetchOptions = {}): Promise<FetchedSecret> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.path, { signal: options.signal });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw this.#unavailable(`cannot be read: ${osReason(error)}`, error);
    }
    if (bytes.length === 0) throw this.#unavailable("is empty");
    return { values: new Map([["", bytes]]) };
  }

  #unavailable(what: string, cause?: unknown): X00Error {
    return new X00Error(
      `Cannot fetch secret '${this.name}' as file '${this.path}' ${what}`,
      { exitCode: ExitCode.SECRET_UNAVAILABLE, ...(cause !== undefined ? { cause } : {}) },
    );
  }
}

/** The operating system's reason from a Deno error, without the operation and path Deno appends. */
function osReason(error: unknown): string {
  if (!(error instanceof Error)) return "unknown error";
  const match = /^(.*?\(os error \d+\))/.exec(error.message);
  return match?.[1] ?? error.name;
}
