/**
 * Turns fetched secrets into what the workload receives at exec: environment variables, and sealed memfds whose
 * `/proc/self/fd/N` paths go into `*_FILE`-style variables. Nothing touches a file system.
 *
 * @module
 */
import {
  close,
  F_ADD_SEALS,
  F_SEAL_ALL,
  F_SETFD,
  fcntl,
  memfdCreate,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  writeAll,
} from "../../ffi/libc.ts";
import type { Delivery, SecretSpec, TemplateSpec } from "../policy/types.ts";
import { allKeysVariables, renderTemplate } from "./render.ts";
import type { FetchedSecret } from "./source.ts";

/** The name every secret memfd gets: neutral, because memfd names show in /proc/PID/maps and fd links. */
export const MEMFD_NAME = "x00";

/** One delivered value (names only). */
export interface DeliveryRecord {
  secret: string;
  delivery: "env" | "file";
  var: string;
}

/** Options of {@linkcode prepareDelivery}. */
export interface DeliveryOptions {
  /** The environment the workload starts from (X00's own, usually). */
  baseEnv: Record<string, string>;
  /** Variables removed from `baseEnv` (env-source variables, X00's credentials). */
  removeVars: string[];
  /** Templates rendered over the fetched secrets (they must read only secrets of `specs`). */
  templates?: readonly TemplateSpec[];
  /** Called with each sealed memfd before it is made inheritable (registers it with the kernel side). */
  protectFd?: (fd: number) => void;
}

/** What the workload gets. Call `closeFds()` once the workload has started. */
export interface PreparedDelivery {
  env: Record<string, string>;
  /** memfds the workload inherits. */
  fds: number[];
  records: DeliveryRecord[];
  /** Closes X00's copies of the memfds. Idempotent. */
  closeFds(): void;
}

/** Creates a sealed memfd holding `value`; inheritable (no CLOEXEC). */
export function sealedMemfd(value: Uint8Array, protectFd?: (fd: number) => void): number {
  const fd = memfdCreate(MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  try {
    writeAll(fd, value);
    fcntl(fd, F_ADD_SEALS, F_SEAL_ALL);
    protectFd?.(fd);
    fcntl(fd, F_SETFD, 0); // clear CLOEXEC only now: the next exec is the workload's
    return fd;
  } catch (e) {
    close(fd);
    throw e;
  }
}

/**
 * Builds the workload's environment and memfds from fetched secrets. Values become JavaScript strings only for
 * `env` deliveries (an environment is strings); file deliveries stay bytes.
 *
 * @example Usage
 * ```ts ignore
 * const d = prepareDelivery(policy.secrets, fetched, { baseEnv: Deno.env.toObject(), removeVars: [] });
 * // spawn with d.env, then:
 * d.closeFds();
 * ```
 */
export function prepareDelivery(
  specs: readonly SecretSpec[],
  fetched: ReadonlyMap<string, FetchedSecret>,
  options: DeliveryOptions,
): PreparedDelivery {
  const env: Record<string, string> = { ...options.baseEnv };
  for (const v of options.removeVars) delete env[v];
  const fds: number[] = [];
  const records: DeliveryRecord[] = [];
  const closeFds = () => {
    for (const fd of fds.splice(0)) {
      try {
        close(fd);
      } catch {
        // already closed
      }
    }
  };
  const deliver = (name: string, delivery: Delivery, value: Uint8Array) => {
    if (delivery.kind === "env") {
      env[delivery.var] = new TextDecoder().decode(value);
    } else {
      const fd = sealedMemfd(value, options.protectFd);
      fds.push(fd);
      env[delivery.var] = `/proc/self/fd/${fd}`;
    }
    records.push({ secret: name, delivery: delivery.kind, var: delivery.var });
  };
  try {
    for (const spec of specs) {
      const secret = fetched.get(spec.name);
      if (!secret) throw new Error(`secret '${spec.name}' was not fetched`);
      for (const [key, delivery] of spec.deliveries) {
        const value = secret.values.get(key);
        if (!value) {
          throw new Error(`secret '${spec.name}' has no key '${key}'`);
        }
        deliver(spec.name, delivery, value);
      }
      if (spec.all_keys !== undefined) {
        const kind = spec.all_keys.kind;
        for (const [key, name] of allKeysVariables(spec, secret)) {
          deliver(spec.name, { kind, var: name }, secret.values.get(key)!);
        }
      }
    }
    for (const template of options.templates ?? []) {
      const value = renderTemplate(template, fetched);
      try {
        deliver(template.name, template.delivery, value);
      } finally {
        value.fill(0);
      }
    }
  } catch (e) {
    closeFds();
    throw e;
  }
  return { env, fds, records, closeFds };
}

/**
 * The templates of `templates` that read only secrets of `secrets` (what a client of `x00 agent` that receives
 * `secrets` also receives).
 */
export function templatesOver(
  templates: readonly TemplateSpec[],
  secrets: ReadonlySet<string>,
): TemplateSpec[] {
  return templates.filter((t) => t.secrets.every((s) => secrets.has(s)));
}
