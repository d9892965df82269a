/**
 * `x00 run --policy FILE -- CMD ARGS...`: protect X00 itself, fetch the secrets, start CMD as a protected child
 * with its secrets in memory only, supervise it, and report every access attempt.
 *
 * Order matters and fails closed: policy -> privileges -> kernel protection (enforce: refuse to go on without
 * BPF-LSM, before any secret is fetched) -> protect X00 -> fetch -> deliver -> spawn (the child is protected at
 * fork, in the kernel, before its first instruction) -> supervise.
 *
 * @module
 */
import { close, F_DUPFD, fcntl } from "../../ffi/libc.ts";
import { ExitCode, PermissionError, UsageError, X00Error } from "../errors.ts";
import { type LogLevel, logLevelFrom, shown } from "./log_level.ts";
import { type EventSink, JsonLinesSink, TableSink } from "../events/sink.ts";
import { nowRfc3339 } from "../events/time.ts";
import type { AuditEvent } from "../events/types.ts";
import { loadPolicy } from "../policy/mod.ts";
import type { AuditConfig, Mode, Policy } from "../policy/types.ts";
import {
  createSources,
  envSourceVariables,
  fetchAll,
  prepareDelivery,
  zeroSecret,
} from "../secrets/mod.ts";
// The Vault client is loaded only for a policy with a Vault secret (it loads node:crypto only for a client
// certificate, and node:https only for tls_server_name or tls_skip_verify).
import type { VaultSourceEvent, VaultSources } from "../secrets/vault/mod.ts";
import type { FetchedSecret, SecretSource } from "../secrets/source.ts";
import {
  exitCodeOf,
  forwardSignals,
  reapOrphansIfInit,
  signalNumber,
  Workload,
} from "../workload/supervisor.ts";
import { takeFromEnvironment } from "../hardening/own_environment.ts";
import { workloadEnvironment } from "../hardening/deno_settings.ts";
import { checkCredentials, resolveCredentials } from "../workload/credentials.ts";
import { monitorOptions, Protection } from "./_protection.ts";
import { requireBpf } from "./privileges.ts";

/** The lowest descriptor number of the link references the workload inherits (out of the way of stdio and of
 * the secret memfds). */
const LINK_FD_BASE = 100;

/** The Vault side of `x00 run`, imported only for a policy with a Vault secret (relative to this module). */
export const VAULT_MODULE = "../secrets/vault/mod.ts";

/** Variables of X00's own environment that never reach the workload (credentials X00 uses itself). */
export const WITHHELD_VARS = ["VAULT_TOKEN", "X00_VAULT_TOKEN"];

/** Options of {@linkcode runRun}. */
export interface RunOptions {
  policyFile: string;
  /** Overrides `policy.mode`. */
  mode?: Mode;
  cmd: string;
  args: string[];
  /** Status lines (stderr by default). */
  log?: (line: string) => void;
  /** Builds Vault sources for the policy (default: the real client with X00's environment). */
  vault?: (
    policy: Policy,
    mode: Mode,
    log: (line: string) => void,
  ) => Promise<VaultSources | undefined>;
}

/**
 * Vault client log lines as `x00: vault LEVEL: ...` status lines, from `X00_LOG_LEVEL` up (default: warnings and
 * errors, so routine logins and renewals are silent unless asked for; see `log_level.ts`).
 */
export function vaultLogger(
  log: (line: string) => void,
  threshold: LogLevel = logLevelFrom(Deno.env.toObject()),
): (level: LogLevel, message: string) => void {
  return (level, message) => {
    if (!shown(level, threshold)) return;
    log(`x00: vault ${level}: ${message}`);
  };
}

/** The real Vault integration: `vault:` section overridden by the VAULT_* variables of `env`. */
async function defaultVault(
  env: Record<string, string>,
  logLevel: LogLevel,
  policy: Policy,
  mode: Mode,
  log: (line: string) => void,
): Promise<VaultSources | undefined> {
  // By a specifier Deno does not analyze, so that `deno run` does not read the Vault client's ~25 modules at the
  // start of every `x00 run` (as for mod.ts's LAZY_MODULES; scripts/compile.sh `--include`s it).
  const { createVaultSources }: typeof import("../secrets/vault/mod.ts") = await import(
    new URL(VAULT_MODULE, import.meta.url).href
  );
  return await createVaultSources(policy, {
    env,
    mode,
    logger: vaultLogger(log, logLevel),
  });
}

/**
 * Whether a process is gone, a zombie, or on its way out (PF_EXITING): its protection entry is removed in the
 * kernel when it exits, so a missing entry is only a failure for a process that still lives.
 */
export function hasExited(pid: number): boolean {
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return true;
  }
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags ...": comm may hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const flags = Number(fields[6]);
  const PF_EXITING = 0x4;
  return state === "Z" || state === "X" || (flags & PF_EXITING) !== 0;
}

/** Opens the audit sink a policy asks for. */
export function openAuditSink(config: AuditConfig): { sink: EventSink; close(): void } {
  let file: Deno.FsFile | undefined;
  let out: { writeSync(p: Uint8Array): number } = Deno.stderr;
  if (config.output === "stdout") out = Deno.stdout;
  else if (config.output !== "stderr") {
    try {
      file = Deno.openSync(config.output, { write: true, create: true, append: true, mode: 0o600 });
    } catch (e) {
      throw new UsageError(
        `Cannot write audit output '${config.output}': ${
          e instanceof Error ? e.message : String(e)
        }`,
        { cause: e },
      );
    }
    out = file;
  }
  const sink = config.format === "table" ? new TableSink(out) : new JsonLinesSink(out);
  return { sink, close: () => file?.close() };
}

/** Runs the workload under protection; returns X00's exit code (the workload's, when it ran). */
export async function runRun(options: RunOptions): Promise<number> {
  const log = options.log ?? ((l: string) => console.error(l));
  const logLevel = logLevelFrom(Deno.env.toObject()); // a bad X00_LOG_LEVEL ends here, before anything
  const policy = await loadPolicy(options.policyFile);
  // Credentials in X00's own environment leave it now: Deno.env and the exec-time block (/proc/PID/environ).
  const taken = takeFromEnvironment([...envSourceVariables(policy.secrets), ...WITHHELD_VARS]);
  const ownEnv = { ...Deno.env.toObject(), ...Object.fromEntries(taken) };
  const mode: Mode = options.mode ?? policy.policy.mode;
  const enforce = mode === "enforce";
  requireBpf("run");
  let credentials;
  try {
    credentials = resolveCredentials(policy.workload);
  } catch (e) {
    if (e instanceof PermissionError) throw e;
    throw new UsageError(`${policy.file}: ${(e as Error).message}`, { cause: e });
  }
  checkCredentials(credentials);
  const accessOptions = monitorOptions(policy, enforce, !enforce);

  const audit = openAuditSink(policy.audit);
  const emit = (e: AuditEvent) => {
    audit.sink.write(e);
    audit.sink.flush();
  };
  let protection: Protection | undefined;
  let vault: VaultSources | undefined;
  let unforward: (() => void) | undefined;
  let current: Workload | undefined;
  // Signals are handled from the start: one that arrived between spawning the workload and installing a handler
  // would otherwise kill X00 and leave the workload running unprotected.
  let earlySignal: Deno.Signal | undefined;
  unforward = forwardSignals(() => current, (sig) => {
    if (sig !== "SIGWINCH") earlySignal ??= sig;
  });
  try {
    // 1. Kernel protection first. In enforce mode a kernel without BPF-LSM ends here: nothing fetched.
    protection = await Protection.start({
      monitor: accessOptions,
      mode,
      who: "x00",
      keepCapabilities: credentials.capabilities,
      emit,
      log,
    });
    const m = protection.monitor;
    const family = protection.family;
    const kernelPid = protection.kernelPid;
    if (!enforce) {
      log(
        `x00: WARNING: mode audit — accesses to the workload are logged, NOT blocked` +
          (m.mechanism === "tracepoint" ? ` (observe-only fallback: ${m.fallbackReason})` : ""),
      );
    }

    // 2. Secrets, all at once.
    if (policy.secrets.some((s) => s.source.type === "vault")) {
      vault = await (options.vault ?? defaultVault.bind(undefined, ownEnv, logLevel))(
        policy,
        mode,
        log,
      );
    }
    const sources = createSources(policy.secrets, vault?.factory, (name) => taken.get(name));

    // 3 + 4. Deliver and spawn. The child is protected at fork, by inheritance, before it runs.
    const start = async (fetched: Map<string, FetchedSecret>): Promise<Workload> => {
      let delivery;
      try {
        delivery = prepareDelivery(policy.secrets, fetched, {
          baseEnv: workloadEnvironment(Deno.env.toObject()), // Deno's settings as X00 got them
          removeVars: [...envSourceVariables(policy.secrets), ...WITHHELD_VARS],
          templates: policy.templates,
          protectFd: (fd) => m.protectSecretFd(fd, family),
        });
      } finally {
        for (const s of fetched.values()) zeroSecret(s);
      }
      // The workload inherits references to X00's links (at fd 100 and up): protection lasts while any process
      // of the family holds one, even when X00 is killed, and ends by itself when the last one exits.
      const linkRefs = m.linkFds().map((fd) => fcntl(fd, F_DUPFD, LINK_FD_BASE));
      let w: Workload;
      try {
        w = Workload.spawn({
          cmd: options.cmd,
          args: options.args,
          env: delivery.env,
          credentials,
        });
      } catch (e) {
        if (e instanceof X00Error) throw e;
        const hint = e instanceof Deno.errors.PermissionDenied && credentials.uid !== undefined
          ? ` (as uid ${credentials.uid}, the workload must be able to enter x00's working directory ` +
            `'${Deno.cwd()}' and to execute '${options.cmd}')`
          : "";
        throw new UsageError(
          `Cannot start '${options.cmd}': ${e instanceof Error ? e.message : String(e)}${hint}`,
        );
      } finally {
        for (const k of Object.keys(delivery.env)) delete delivery.env[k];
        delivery.closeFds();
        for (const fd of linkRefs) close(fd);
      }
      if (kernelPid === family && !m.isProtected(w.pid) && !hasExited(w.pid)) {
        // Same pid namespace as the kernel, so the lookup is exact: the workload must be protected.
        w.kill("SIGKILL");
        await w.status;
        throw new X00Error(
          `Cannot confirm kernel protection of the workload (pid ${w.pid}); killed it`,
          {
            exitCode: ExitCode.NO_ENFORCE,
          },
        );
      }
      for (const r of delivery.records) {
        emit({ type: "secret_delivered", time: nowRfc3339(), ...r, pid: w.pid });
      }
      return w;
    };
    const fetched = await fetchAll(sources);
    if (earlySignal) {
      for (const s of fetched.values()) zeroSecret(s);
      log(`x00: ${earlySignal} before the workload started: not starting it`);
      return 128 + signalNumber(earlySignal);
    }
    let workload = await start(fetched);
    current = workload;
    if (earlySignal) workload.kill(earlySignal);
    const stopReaper = reapOrphansIfInit(() => workload);
    const unforwardSignals = unforward;
    unforward = () => {
      unforwardSignals?.();
      stopReaper();
    };

    // 5. Rotation (Vault): restart, signal or leave the workload when a value really changed.
    let restarting: Promise<void> | undefined;
    const restart = async (changed: string, secret: FetchedSecret) => {
      const others = sources.filter((s: SecretSource) => s.name !== changed);
      let fetched: Map<string, FetchedSecret>;
      try {
        fetched = await fetchAll(others);
      } catch (e) {
        zeroSecret(secret);
        log(
          `x00: cannot restart with new secrets, keeping the running workload: ${
            (e as Error).message
          }`,
        );
        return;
      }
      fetched.set(changed, secret);
      await workload.stop(policy.rotation.stop_signal, policy.rotation.grace_period_ms);
      workload = await start(fetched);
      current = workload;
    };
    if (vault) {
      vault.watcher.subscribe((event: VaultSourceEvent) => {
        if (event.type === "error") {
          log(`x00: vault: keeping the running workload: ${event.error.message}`);
          return;
        }
        const action = policy.rotation.on_change;
        log(`x00: secret '${event.name}' changed (${event.reason}); on_change: ${action}`);
        if (action !== "restart") {
          zeroSecret(event.secret);
          if (action === "signal") workload.kill(policy.rotation.signal);
          return;
        }
        // Restarts run one after the other: a change that arrives during a restart gets its own.
        const next: Promise<void> = (restarting ?? Promise.resolve())
          .then(() => restart(event.name, event.secret))
          .finally(() => {
            if (restarting === next) restarting = undefined;
          });
        restarting = next;
      });
      vault.watcher.start();
    }
    // 6. Supervise until the workload ends (a restart replaces it).
    while (true) {
      const running = workload;
      const status = await running.status;
      if (restarting) {
        await restarting;
        if (workload !== running) continue;
      }
      return exitCodeOf(status);
    }
  } finally {
    // Protection ends with this process: a workload still running now (x00 failed while supervising) is
    // stopped rather than left running unprotected.
    if (current && !current.exited) {
      log(
        `x00: stopping the workload (pid ${current.pid}): x00 is exiting and protection ends with it`,
      );
      await current.stop("SIGTERM", 5000);
    }
    unforward?.();
    await protection?.close();
    await vault?.close();
    audit.sink.flush();
    audit.close();
  }
}
