/**
 * `x00 agent --policy FILE --socket PATH`: the privileged half of the sidecar form. It loads the BPF-LSM programs,
 * holds the Vault credentials and the secrets, and serves them over a Unix socket, and nothing else (no network
 * listener). A process that connects is identified and protected by the kernel at connect time
 * (`lsm/unix_stream_connect`); the agent answers only a process the policy's `clients` name, with that entry's
 * secrets (env values, sealed memfds) and references to its BPF links, then closes the connection.
 *
 * Order, failing closed: policy (with `clients`) -> privileges -> BPF-LSM (required in both modes: without it no
 * process can be identified) -> protect the agent -> fetch every secret -> listen.
 *
 * @module
 */
import {
  close,
  recvWithFds,
  sendWithFds,
  shutdownSocket,
  unixAccept,
  unixListen,
  waitReadable,
} from "../../ffi/libc.ts";
import { authorize, type ClientIdentity } from "../agent/authorize.ts";
import { ServedProcesses } from "../agent/served.ts";
import {
  type DeliveryResponse,
  encode,
  MAX_REQUEST_BYTES,
  parseRequest,
  PROTOCOL_VERSION,
} from "../agent/protocol.ts";
import { UsageError } from "../errors.ts";
import { nowRfc3339 } from "../events/time.ts";
import type { AuditEvent } from "../events/types.ts";
import { takeFromEnvironment } from "../hardening/own_environment.ts";
import { loadPolicy } from "../policy/mod.ts";
import type { Mode, Policy } from "../policy/types.ts";
import type { AccessMonitor } from "../protect/access_monitor.ts";
import { cgroupPathOf } from "../protect/kernel_fs.ts";
import {
  createSources,
  envSourceVariables,
  fetchAll,
  prepareDelivery,
  templatesOver,
  zeroSecret,
} from "../secrets/mod.ts";
import type { FetchedSecret } from "../secrets/source.ts";
import {
  createVaultSources,
  type VaultSourceEvent,
  type VaultSources,
} from "../secrets/vault/mod.ts";
import { openAuditSink, vaultLogger, WITHHELD_VARS } from "./run.ts";
import { logLevelFrom } from "./log_level.ts";
import { monitorOptions, Protection, type ProtectionStartOptions } from "./_protection.ts";
import { requireBpf } from "./privileges.ts";

/** How long a connected client has to send its request. */
const REQUEST_TIMEOUT_MS = 5000;

/** What the agent asks of the kernel side ({@linkcode AccessMonitor} in the CLI). */
export type AgentKernel = Pick<
  AccessMonitor,
  "registerAgentSocket" | "clientIdentity" | "protectSecretFd" | "linkFds" | "unprotect"
>;

/** The started kernel side: {@linkcode Protection} in the CLI. */
export interface AgentProtection {
  readonly monitor: AgentKernel;
  /** The protection family of what the agent protects (its tgid). */
  readonly family: number;
  close(): Promise<void>;
}

/** Options of {@linkcode runAgent}. */
export interface AgentOptions {
  policyFile: string;
  socket: string;
  /** Overrides `policy.mode`. */
  mode?: Mode;
  /** Status lines (stderr by default). */
  log?: (line: string) => void;
  /** Stops the agent (SIGTERM/SIGINT in the CLI). */
  signal: AbortSignal;
  /**
   * Starts the kernel side; {@linkcode Protection.start} (BPF-LSM) unless given. Only code can replace it (the
   * host tests, whose kernel refuses BPF-LSM, identify clients by SO_PEERCRED): `x00 agent` has no option or
   * variable for it and always fails closed without BPF-LSM.
   */
  protect?: (o: ProtectionStartOptions) => Promise<AgentProtection>;
}

/** Removes a stale socket file at `path` (only a socket: anything else is a usage error). */
function removeStaleSocket(path: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch {
    return;
  }
  if (!info.isSocket) {
    throw new UsageError(`--socket ${path}: exists and is not a socket`);
  }
  Deno.removeSync(path);
}

/** Whether descriptor `fd` is a pidfd. */
function isPidfd(fd: number): boolean {
  try {
    return Deno.readLinkSync(`/proc/self/fd/${fd}`) === "anon_inode:[pidfd]";
  } catch {
    return false;
  }
}

/** Runs the agent until `options.signal` aborts; returns the exit code. */
export async function runAgent(options: AgentOptions): Promise<number> {
  const log = options.log ?? ((l: string) => console.error(l));
  const logLevel = logLevelFrom(Deno.env.toObject());
  const policy: Policy = await loadPolicy(options.policyFile);
  if (policy.clients === undefined) {
    throw new UsageError(
      `${policy.file}: x00 agent needs a 'clients' section: which processes may receive which secrets`,
    );
  }
  const taken = takeFromEnvironment([...envSourceVariables(policy.secrets), ...WITHHELD_VARS]);
  const ownEnv = { ...Deno.env.toObject(), ...Object.fromEntries(taken) };
  const mode: Mode = options.mode ?? policy.policy.mode;
  const enforce = mode === "enforce";
  requireBpf("agent");
  const accessOptions = monitorOptions(policy, enforce, false);

  const audit = openAuditSink(policy.audit);
  const emit = (e: AuditEvent) => {
    audit.sink.write(e);
    audit.sink.flush();
  };
  let protection: AgentProtection | undefined;
  let vault: VaultSources | undefined;
  let listenFd = -1;
  let fetched: Map<string, FetchedSecret> | undefined;
  const served = new ServedProcesses();
  try {
    // 1. BPF-LSM, in both modes: the kernel is what tells the agent who connected.
    protection = await (options.protect ?? Protection.start)({
      monitor: accessOptions,
      mode,
      who: "x00 agent",
      emit,
      log,
    });
    if (!enforce) log("x00: WARNING: mode audit — accesses to clients are logged, NOT blocked");
    const m = protection.monitor;
    const family = protection.family;

    // 2. Every secret, once: a client is answered from memory.
    if (policy.secrets.some((s) => s.source.type === "vault")) {
      vault = await createVaultSources(policy, {
        env: ownEnv,
        mode,
        logger: vaultLogger(log, logLevel),
      });
    }
    const sources = createSources(policy.secrets, vault?.factory, (name) => taken.get(name));
    fetched = await fetchAll(sources);

    // 3. The socket, registered with the kernel before the first client can connect: it listens under a
    // temporary name and takes its own only once registered.
    removeStaleSocket(options.socket);
    const pending = `${options.socket}.${Deno.pid}.new`;
    removeStaleSocket(pending);
    const place = (step: () => void) => {
      try {
        step();
      } catch (e) {
        try {
          Deno.removeSync(pending);
        } catch {
          // not created
        }
        throw new UsageError(`Cannot listen on ${options.socket}: ${(e as Error).message}`, {
          cause: e,
        });
      }
    };
    place(() => {
      listenFd = unixListen(pending, 64);
      Deno.chmodSync(pending, 0o666); // who gets what is decided by kernel identity, not file mode
    });
    m.registerAgentSocket(listenFd, family);
    place(() => Deno.renameSync(pending, options.socket));
    log(`x00: agent ready on ${options.socket} (${policy.clients.length} clients, mode ${mode})`);

    const secrets = fetched;
    const clients = policy.clients;
    const serve = async (fd: number) => {
      let identity: ClientIdentity | undefined;
      let pidfd: number | undefined;
      const answer = (r: DeliveryResponse, fds: number[] = []) => {
        const bytes = encode(r);
        try {
          sendWithFds(fd, bytes, fds);
        } catch {
          // the client went away
        } finally {
          bytes.fill(0);
        }
      };
      try {
        identity = m.clientIdentity(fd);
        if (!identity) {
          answer({
            v: PROTOCOL_VERSION,
            ok: false,
            error: "the kernel did not identify this client",
          });
          emit({ type: "client", time: nowRfc3339(), action: "refused", reason: "unidentified" });
          return;
        }
        let name: string | undefined;
        try {
          if (!(await waitReadable(fd, REQUEST_TIMEOUT_MS))) throw new Error("no request in time");
          const got = recvWithFds(fd, MAX_REQUEST_BYTES, 2);
          // A pidfd of the client, for rotation; anything else sent along is dropped.
          for (const extra of got.fds) {
            if (pidfd === undefined && isPidfd(extra)) pidfd = extra;
            else close(extra);
          }
          name = parseRequest(got.data).name;
        } catch (e) {
          refuse(m, identity, `bad request: ${(e as Error).message}`);
          answer({ v: PROTOCOL_VERSION, ok: false, error: (e as Error).message });
          return;
        }
        const verdict = authorize(clients, identity, cgroupPathOf(identity.cgroupId), name);
        if (!verdict.ok) {
          refuse(m, identity, verdict.reason);
          answer({ v: PROTOCOL_VERSION, ok: false, error: `not authorized: ${verdict.reason}` });
          return;
        }
        const client = verdict.client;
        const specs = policy.secrets.filter((s) =>
          client.secrets === undefined || client.secrets.includes(s.name)
        );
        const delivery = prepareDelivery(specs, secrets, {
          baseEnv: {},
          removeVars: [],
          templates: templatesOver(policy.templates, new Set(specs.map((s) => s.name))),
          protectFd: (memfd) => m.protectSecretFd(memfd, identity!.family),
        });
        try {
          const files = delivery.records.filter((r) => r.delivery === "file").map((r) => r.var);
          const env: Record<string, string> = {};
          for (const r of delivery.records) {
            if (r.delivery === "env") env[r.var] = delivery.env[r.var]!;
          }
          const links = m.linkFds();
          answer(
            { v: PROTOCOL_VERSION, ok: true, client: client.name, env, files, links: links.length },
            [...delivery.fds, ...links],
          );
          for (const k of Object.keys(env)) delete env[k];
          for (const r of delivery.records) {
            emit({ type: "secret_delivered", time: nowRfc3339(), ...r, pid: identity.tgid });
          }
          if (pidfd !== undefined) {
            served.add({
              pid: identity.tgid,
              client: client.name,
              secrets: new Set(specs.map((s) => s.name)),
              pidfd,
            });
            pidfd = undefined; // the registry owns it now
          }
          emit({
            type: "client",
            time: nowRfc3339(),
            action: "served",
            client: client.name,
            pid: identity.tgid,
            uid: identity.uid,
            gid: identity.gid,
            cgroup_id: identity.cgroupId.toString(),
          });
        } finally {
          for (const k of Object.keys(delivery.env)) delete delivery.env[k];
          delivery.closeFds();
        }
      } catch (e) {
        log(`x00: agent: serving a client failed: ${(e as Error).message}`);
      } finally {
        if (pidfd !== undefined) close(pidfd);
        close(fd);
      }
    };
    const refuse = (mon: AgentKernel, id: ClientIdentity, reason: string) => {
      if (id.family === id.tgid) mon.unprotect(id.tgid); // the agent's doing: undone for a refused client
      emit({
        type: "client",
        time: nowRfc3339(),
        action: "refused",
        reason,
        pid: id.tgid,
        uid: id.uid,
        gid: id.gid,
        cgroup_id: id.cgroupId.toString(),
      });
    };

    // 4. Rotation: new clients get the new value at once; served processes holding the secret are restarted
    // (their container runtime starts them again) or signalled, as rotation.on_change says.
    if (vault) {
      vault.watcher.subscribe((event: VaultSourceEvent) => {
        if (event.type === "error") {
          log(`x00: vault: keeping the current values: ${event.error.message}`);
          return;
        }
        const old = secrets.get(event.name);
        secrets.set(event.name, event.secret);
        if (old) zeroSecret(old);
        log(
          `x00: secret '${event.name}' changed (${event.reason}); on_change: ${policy.rotation.on_change}`,
        );
        served.rotate(event.name, policy.rotation).then((actions) => {
          for (const a of actions) {
            log(`x00: rotation of '${event.name}': client ${a.client} (pid ${a.pid}) ${a.action}`);
          }
        }).catch((e) => log(`x00: rotation of '${event.name}' failed: ${(e as Error).message}`));
      });
      vault.watcher.start();
    }

    // 5. Serve until stopped.
    const stopped = new Promise<"stop">((r) =>
      options.signal.addEventListener("abort", () => r("stop"), { once: true })
    );
    while (!options.signal.aborted) {
      const next = await Promise.race([unixAccept(listenFd), stopped]);
      if (next === "stop") break;
      serve(next);
    }
    return 0;
  } finally {
    if (listenFd >= 0) {
      shutdownSocket(listenFd); // ends the pending accept()
      close(listenFd);
      try {
        Deno.removeSync(options.socket);
      } catch {
        // gone
      }
    }
    await served.close();
    for (const s of fetched?.values() ?? []) zeroSecret(s);
    await protection?.close();
    await vault?.close();
    audit.sink.flush();
    audit.close();
  }
}
