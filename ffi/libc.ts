/**
 * glibc bindings: the only place X00 calls libc directly. Opaque pointers never leave this module; callers get
 * numbers (file descriptors) and typed errors.
 *
 * @module
 */

import { lazySymbols } from "./_symbols.ts";

/** Symbol table of the libc functions X00 uses. */
const LIBC_SYMBOLS = {
  /** int *__errno_location(void) */
  __errno_location: { parameters: [], result: "pointer" },
  /** int close(int fd) */
  close: { parameters: ["i32"], result: "i32" },
  /** int memfd_create(const char *name, unsigned int flags) */
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  /** int fcntl(int fd, int cmd, int arg) — called with an int third argument only */
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** ssize_t write(int fd, const void *buf, size_t count) */
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** int epoll_create1(int flags) */
  epoll_create1: { parameters: ["i32"], result: "i32" },
  /** int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event) */
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  /** int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout) — blocks */
  epoll_wait: {
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  /** int prctl(int option, unsigned long arg2, arg3, arg4, arg5) */
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  /** int setrlimit(int resource, const struct rlimit *rlim) */
  setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  /** long syscall(long number, long a1, long a2, long a3) — used for memfd_secret */
  syscall: { parameters: ["i64", "i64", "i64", "i64"], result: "i64" },
  /** long syscall(long number, long a1, long a2, long a3, long a4) — the same function, four arguments */
  syscall4: { name: "syscall", parameters: ["i64", "i64", "i64", "i64", "i64"], result: "i64" },
  /** int vsnprintf(char *str, size_t size, const char *format, va_list ap) */
  vsnprintf: { parameters: ["buffer", "usize", "pointer", "pointer"], result: "i32" },
  /** char *strerror_r(int errnum, char *buf, size_t buflen) (GNU variant) */
  strerror_r: { parameters: ["i32", "buffer", "usize"], result: "pointer" },
  /** int clock_gettime(clockid_t clk, struct timespec *tp) */
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  /** int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const void *data) */
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "pointer"], result: "i32" },
  /** int waitid(idtype_t idtype, id_t id, siginfo_t *infop, int options) */
  waitid: { parameters: ["i32", "u32", "buffer", "i32"], result: "i32" },
  /** pid_t waitpid(pid_t pid, int *wstatus, int options) */
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  /** void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) */
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  /** int munmap(void *addr, size_t length) */
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  /** long sysconf(int name) */
  sysconf: { parameters: ["i32"], result: "i64" },
  /** int malloc_trim(size_t pad) */
  malloc_trim: { parameters: ["usize"], result: "i32" },
  /** pid_t getpid(void) */
  getpid: { parameters: [], result: "i32" },
  /** int pthread_sigmask(int how, const sigset_t *set, sigset_t *oldset) — the calling thread's mask */
  pthread_sigmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int execve(const char *path, char *const argv[], char *const envp[]) */
  execve: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  /** int signalfd(int fd, const sigset_t *mask, int flags) */
  signalfd: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  /** int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact) */
  sigaction: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** void *dlsym(void *handle, const char *symbol) */
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  /** int socket(int domain, int type, int protocol) */
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** int bind(int fd, const struct sockaddr *addr, socklen_t len) */
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int listen(int fd, int backlog) */
  listen: { parameters: ["i32", "i32"], result: "i32" },
  /** int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) — blocks */
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32", nonblocking: true },
  /** int connect(int fd, const struct sockaddr *addr, socklen_t len) */
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int shutdown(int fd, int how) */
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  /** ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) */
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  /** ssize_t recvmsg(int fd, struct msghdr *msg, int flags) */
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout) — blocks */
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  /** ssize_t read(int fd, void *buf, size_t count) */
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  /** int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
   * const posix_spawnattr_t *attr, char *const argv[], char *const envp[]) — returns an error number */
  posix_spawn: {
    parameters: ["buffer", "buffer", "pointer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** Raised when a libc call fails; carries errno. */
export class LibcError extends Error {
  /** The errno value. */
  readonly errno: number;
  constructor(call: string, errno: number) {
    super(`${call} failed: ${strerror(errno)} (errno ${errno})`);
    this.name = "LibcError";
    this.errno = errno;
  }
}

type LibcSymbols = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];
let symbols: LibcSymbols | undefined;

/** libc (glibc's soname), each function bound on its first call (ffi/_symbols.ts): X00's first instant (block
 * SIGUSR1, re-execute itself) binds two, not all of them. */
function libc(): LibcSymbols {
  return symbols ??= lazySymbols("libc.so.6", LIBC_SYMBOLS);
}

/** The calling thread's errno, read right after a failed call. */
export function errno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** strerror_r(3) as a string. */
export function strerror(code: number): string {
  const buf = new Uint8Array(256);
  const p = libc().strerror_r(code, buf, BigInt(buf.length));
  return p === null ? `errno ${code}` : Deno.UnsafePointerView.getCString(p);
}

function check(call: string, ret: number | bigint): number {
  const n = Number(ret);
  if (n < 0) throw new LibcError(call, errno());
  return n;
}

/** The size of a memory page (sysconf(_SC_PAGESIZE)). */
export function pageSize(): number {
  return check("sysconf", libc().sysconf(30)); // _SC_PAGESIZE
}

/**
 * mmap(2) of `length` bytes of descriptor `fd` from `offset`, shared, readable (and writable when `writable`).
 * Returns the address; unmap it with {@linkcode munmap}.
 */
export function mmapShared(
  fd: number,
  length: number,
  offset: number,
  writable: boolean,
): Deno.PointerObject {
  const PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;
  const p = libc().mmap(
    null,
    BigInt(length),
    writable ? PROT_READ | PROT_WRITE : PROT_READ,
    MAP_SHARED,
    fd,
    BigInt(offset),
  );
  // MAP_FAILED is (void *)-1.
  if (p === null || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn) {
    throw new LibcError("mmap", errno());
  }
  return p;
}

/** munmap(2). */
export function munmap(address: Deno.PointerObject, length: number): void {
  check("munmap", libc().munmap(address, BigInt(length)));
}

/** memfd_create flags. */
export const MFD_CLOEXEC = 0x1;
/** memfd_create flags. */
export const MFD_ALLOW_SEALING = 0x2;
/** fcntl commands and seals. */
export const F_DUPFD = 0;
/** fcntl commands and seals. */
export const F_SETFD = 2;
/** fcntl commands and seals. */
export const F_ADD_SEALS = 1033;
/** All seals X00 applies to a secret memfd. */
export const F_SEAL_ALL = 0x1 | 0x2 | 0x4 | 0x8; // SEAL | SHRINK | GROW | WRITE

/** memfd_create(2): returns the new descriptor. */
export function memfdCreate(name: string, flags: number): number {
  return check("memfd_create", libc().memfd_create(new TextEncoder().encode(name + "\0"), flags));
}

/** fcntl(2) with an integer argument. */
export function fcntl(fd: number, cmd: number, arg = 0): number {
  return check("fcntl", libc().fcntl(fd, cmd, arg));
}

/** Writes all of `data` to `fd`. */
export function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    const chunk = data.subarray(off);
    off += check("write", libc().write(fd, chunk, BigInt(chunk.length)));
  }
}

/** close(2). */
export function close(fd: number): void {
  check("close", libc().close(fd));
}

/** prctl(2). */
export function prctl(option: number, arg2 = 0n, arg3 = 0n, arg4 = 0n, arg5 = 0n): number {
  return check("prctl", libc().prctl(option, arg2, arg3, arg4, arg5));
}

/** PR_SET_DUMPABLE: 0 stops core dumps and makes /proc/self root-owned. */
export const PR_SET_DUMPABLE = 4;

/** setrlimit(2) with soft = hard = `value`. */
export function setrlimit(resource: number, value: bigint): void {
  const buf = new BigUint64Array([value, value]);
  check("setrlimit", libc().setrlimit(resource, new Uint8Array(buf.buffer)));
}

/** RLIMIT_CORE. */
export const RLIMIT_CORE = 4;

/** getpid(2). */
export function getpid(): number {
  return libc().getpid();
}

let sink = 0;
/** Uses a buffer after an asynchronous FFI call so it cannot be collected while the call runs. */
function keepAlive(buf: Uint8Array): void {
  sink ^= buf[0] ?? 0;
}

/** A new epoll descriptor (close-on-exec); close it with {@linkcode close}. */
export function epollCreate(): number {
  const EPOLL_CLOEXEC = 0o2000000;
  return check("epoll_create1", libc().epoll_create1(EPOLL_CLOEXEC));
}

/** Adds `fd` to the epoll descriptor `epfd`, waiting for it to become readable (EPOLLIN). */
export function epollAddReadable(epfd: number, fd: number): void {
  const EPOLL_CTL_ADD = 1, EPOLLIN = 1;
  // struct epoll_event { u32 events; u64 data; }: 12 bytes packed on x86_64, 16 on aarch64; data unused (0).
  const event = new Uint8Array(16);
  new DataView(event.buffer).setUint32(0, EPOLLIN, true);
  check("epoll_ctl", libc().epoll_ctl(epfd, EPOLL_CTL_ADD, fd, event));
}

/**
 * Waits up to `timeoutMs` for `epfd` to be readable, on a worker thread so Deno's event loop keeps running.
 * Returns the number of ready events (0 on timeout, EINTR counts as 0).
 */
export async function epollWait(epfd: number, timeoutMs: number): Promise<number> {
  const events = new Uint8Array(12 * 8); // struct epoll_event is 12 bytes packed on x86_64
  const n = await libc().epoll_wait(epfd, events, 8, timeoutMs);
  // The kernel writes into `events` on a worker thread while this function waits: the buffer must stay
  // reachable until the call has returned, or the garbage collector may free memory the kernel then writes.
  keepAlive(events);
  // errno belongs to the worker thread that made the call and cannot be read here; the only error a valid
  // epoll descriptor can produce is EINTR, so a failure counts as "nothing ready".
  return n < 0 ? 0 : n;
}

/** Size of a `va_list` on Linux (x86-64: 24 bytes, aarch64: 32): a struct that `va_copy` copies byte for byte. */
const VA_LIST_BYTES = Deno.build.arch === "aarch64" ? 32 : 24;

/**
 * Formats a C `printf` format with a `va_list` (for libbpf's print callback), however long the result: the
 * verifier log arrives as one message of up to megabytes. A `va_list` is consumed by `vsnprintf`, so each
 * attempt formats from a private copy of it (what `va_copy` does on these ABIs), and a result that did not fit
 * is formatted again into a buffer of the size `vsnprintf` reported.
 */
export function formatVaList(fmt: Deno.PointerValue, args: Deno.PointerValue): string {
  if (args === null) return "";
  const original = new Uint8Array(
    Deno.UnsafePointerView.getArrayBuffer(args, VA_LIST_BYTES),
  ).slice();
  let size = 4096;
  for (let attempt = 0; attempt < 2; attempt++) {
    const copy = original.slice();
    const buf = new Uint8Array(size);
    const n = libc().vsnprintf(buf, BigInt(buf.length), fmt, Deno.UnsafePointer.of(copy));
    keepAlive(copy);
    if (n < 0) return "";
    if (n < buf.length) return new TextDecoder().decode(buf.subarray(0, n));
    size = n + 1;
  }
  return "";
}

/** Clock ids for {@linkcode clockNs}. */
export const CLOCK_REALTIME = 0;
/** Clock ids for {@linkcode clockNs}. */
export const CLOCK_BOOTTIME = 7;

/** clock_gettime(2) in nanoseconds. */
export function clockNs(clock: number): bigint {
  const ts = new BigInt64Array(2);
  check("clock_gettime", libc().clock_gettime(clock, new Uint8Array(ts.buffer)));
  return ts[0]! * 1_000_000_000n + ts[1]!;
}

/** mount(2) of a pseudo file system (tracefs, securityfs, bpf) with no options. */
export function mountPseudoFs(fstype: string, target: string): void {
  const c = (s: string) => new TextEncoder().encode(s + "\0");
  check(`mount ${fstype} on ${target}`, libc().mount(c(fstype), c(target), c(fstype), 0n, null));
}

const SYS_MEMFD_SECRET = 447;

/** memfd_secret(2): returns a descriptor, or throws (ENOSYS when the kernel lacks it). */
export function memfdSecret(): number {
  return check("memfd_secret", libc().syscall(BigInt(SYS_MEMFD_SECRET), 0n, 0n, 0n));
}

const P_ALL = 0;
const WNOHANG = 1;
const WEXITED = 4;
const WNOWAIT = 0x01000000;

/**
 * Reaps exited children except `keep` (whose status its owner collects), without blocking. Returns the pids
 * reaped. Uses waitid(WNOWAIT) to look before it reaps, so `keep` is never taken from its owner.
 */
export function reapChildrenExcept(keep: ReadonlySet<number>): number[] {
  const reaped: number[] = [];
  const info = new Uint8Array(128); // siginfo_t; si_pid at offset 16 on x86_64
  const status = new Uint8Array(4);
  for (let i = 0; i < 1024; i++) {
    info.fill(0);
    if (libc().waitid(P_ALL, 0, info, WEXITED | WNOHANG | WNOWAIT) < 0) break; // ECHILD: no children
    const pid = new DataView(info.buffer).getInt32(16, true);
    if (pid === 0 || keep.has(pid)) break; // nothing exited, or only what its owner will reap
    if (libc().waitpid(pid, status, WNOHANG) === pid) reaped.push(pid);
    else break;
  }
  return reaped;
}

/** Returns free heap memory to the kernel (libbpf's BTF parsing leaves megabytes behind after load). */
export function mallocTrim(): void {
  libc().malloc_trim(0n);
}

/** The kernel's sigset_t (64 signals): what pthread_sigmask and signalfd take. */
function sigset(signals: number[]): Uint8Array {
  const set = new BigUint64Array(16); // glibc's sigset_t is 128 bytes; the kernel reads the first 8
  for (const s of signals) set[0]! |= 1n << BigInt(s - 1);
  return new Uint8Array(set.buffer);
}

/** pthread_sigmask `how`. */
export const SIG_BLOCK = 0;

/** Blocks `signals` in the calling thread (threads it creates later inherit the mask, and so does execve). */
export function blockSignals(signals: number[]): void {
  const r = libc().pthread_sigmask(SIG_BLOCK, sigset(signals), null);
  if (r !== 0) throw new LibcError("pthread_sigmask", r);
}

/** SIG_UNBLOCK of pthread_sigmask. */
const SIG_UNBLOCK = 1;
/** SA_RESTART. */
const SA_RESTART = 0x10000000;
/** sizeof(struct sigaction) in glibc on x86-64: handler, 128-byte mask, flags, restorer. */
const SIGACTION_SIZE = 152;

/**
 * Runs `fork` (which must create a child on this thread or exec, as `x00 exec` does) so that the new program starts
 * with `signal` unblocked and at its default disposition although this process keeps it blocked: for the duration,
 * this thread unblocks it with a harmless handler installed (libc's getpid, which ignores its argument; exec resets
 * caught signals to their default), then blocks it again and restores the previous handler. An instance of `signal`
 * that arrives meanwhile is dropped.
 */
export function withSignalUnblocked<T>(signal: number, fork: () => T): T {
  const handler = libc().dlsym(null, new TextEncoder().encode("getpid\0"));
  if (handler === null) throw new LibcError("dlsym getpid", 0);
  const act = new Uint8Array(SIGACTION_SIZE);
  const view = new DataView(act.buffer);
  view.setBigUint64(0, BigInt(Deno.UnsafePointer.value(handler)), true);
  view.setInt32(136, SA_RESTART, true);
  const old = new Uint8Array(SIGACTION_SIZE);
  if (libc().sigaction(signal, act, old) !== 0) throw new LibcError("sigaction", errno());
  try {
    const r = libc().pthread_sigmask(SIG_UNBLOCK, sigset([signal]), null);
    if (r !== 0) throw new LibcError("pthread_sigmask", r);
    try {
      return fork();
    } finally {
      blockSignals([signal]);
    }
  } finally {
    libc().sigaction(signal, old, null);
  }
}

/** A NULL-terminated `char *[]` of `items`; the strings' buffers are pushed to `keep` (they must outlive the call). */
function cStringVector(items: readonly string[], keep: Uint8Array[]): Uint8Array {
  const enc = new TextEncoder();
  const ptrs = new BigUint64Array(items.length + 1);
  items.forEach((item, i) => {
    const b = enc.encode(item + "\0");
    keep.push(b);
    ptrs[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
  });
  return new Uint8Array(ptrs.buffer);
}

/** Replaces this process with `path` (argv, envp as given). Returns only by throwing. */
export function execve(path: string, argv: string[], env: string[]): never {
  const enc = new TextEncoder();
  const keep: Uint8Array[] = [];
  const a = cStringVector(argv, keep);
  const e = cStringVector(env, keep);
  libc().execve(enc.encode(path + "\0"), a, e);
  const err = errno();
  keepAlive(a);
  keepAlive(e);
  for (const b of keep) keepAlive(b);
  throw new LibcError(`execve ${path}`, err);
}

/** posix_spawnattr flags (glibc). */
const POSIX_SPAWN_SETSIGDEF = 0x04;
const POSIX_SPAWN_SETSIGMASK = 0x08;

/**
 * glibc's posix_spawnattr_t (spawn.h: `short __flags; pid_t __pgrp; sigset_t __sd; sigset_t __ss;
 * struct sched_param __sp; int __policy; int __pad[16];`, 336 bytes), filled here as posix_spawnattr_init,
 * _setflags, _setsigdefault and _setsigmask would (init zeroes it, destroy does nothing): one symbol to bind
 * instead of five (each ~0.3-0.5 ms on first use, on the workload's start-up path).
 */
function spawnAttr(flags: number, sigDefault: Uint8Array, sigMask: Uint8Array): Uint8Array {
  const attr = new Uint8Array(336);
  new DataView(attr.buffer).setInt16(0, flags, true);
  attr.set(sigDefault.subarray(0, 128), 8);
  attr.set(sigMask.subarray(0, 128), 136);
  return attr;
}

/** Raised when {@linkcode spawnProcess} cannot start the program; `errno` says why (ENOENT, EACCES, ...). */
export class SpawnError extends LibcError {
  constructor(path: string, errno: number) {
    super(`posix_spawn ${path}`, errno);
    this.name = "SpawnError";
  }
}

/**
 * Starts `path` as a child of this process with `argv` and exactly `env` (`NAME=value` strings), X00's file
 * descriptors (those without close-on-exec) and cwd, an empty signal mask, and `defaultSignals` reset to their
 * default disposition (signals with handlers are reset by exec anyway). posix_spawn(3) clones the calling thread
 * (glibc: CLONE_VM | CLONE_VFORK), so the child starts with this thread's credentials and capabilities and this
 * returns once it has executed `path`. The buffers that held `env` are zeroed before this returns: the only copy
 * of the environment left is the child's. Returns the child's pid; throws {@linkcode SpawnError}.
 */
export function spawnProcess(
  path: string,
  argv: readonly string[],
  env: readonly string[],
  defaultSignals: readonly number[],
): number {
  const keep: Uint8Array[] = [];
  const envKeep: Uint8Array[] = [];
  const a = cStringVector(argv, keep);
  const e = cStringVector(env, envKeep);
  const attr = spawnAttr(
    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF,
    sigset([...defaultSignals]),
    sigset([]),
  );
  const pid = new Int32Array(1);
  let err;
  try {
    err = libc().posix_spawn(pid, new TextEncoder().encode(path + "\0"), null, attr, a, e);
  } finally {
    for (const b of envKeep) b.fill(0);
  }
  if (err !== 0) throw new SpawnError(path, err);
  return pid[0]!;
}

const SYS_KILL = 62;
const SIGKILL = 9;

/** Kills child `pid` (SIGKILL) and reaps it, for a child that cannot be supervised. */
export function killAndReap(pid: number): void {
  libc().syscall(BigInt(SYS_KILL), BigInt(pid), BigInt(SIGKILL), 0n);
  libc().waitpid(pid, new Uint8Array(4), 0);
}

const P_PIDFD = 3;
const CLD_EXITED = 1;

/** How a child ended: its exit code, or the signal that killed it (`code` then 128 + signal). */
export interface ChildExit {
  code: number;
  signal: number;
}

/**
 * Reaps the child behind `pidfd` if it has exited (waitid(P_PIDFD, WEXITED | WNOHANG)); undefined while it runs.
 * Wait for it with {@linkcode waitReadable}: a pidfd is readable once its process has exited.
 */
export function reapPidfd(pidfd: number): ChildExit | undefined {
  const info = new Uint8Array(128); // siginfo_t: si_pid at 16, si_code at 8, si_status at 24 (x86-64, aarch64)
  if (libc().waitid(P_PIDFD, pidfd, info, WEXITED | WNOHANG) < 0) {
    throw new LibcError("waitid", errno());
  }
  const v = new DataView(info.buffer);
  if (v.getInt32(16, true) === 0) return undefined; // still running
  const status = v.getInt32(24, true);
  return v.getInt32(8, true) === CLD_EXITED
    ? { code: status, signal: 0 }
    : { code: 128 + status, signal: status };
}

/** signalfd flags. */
export const SFD_NONBLOCK = 0o4000;
/** signalfd flags. */
export const SFD_CLOEXEC = 0o2000000;

/** signalfd(2) for `signals` (which must be blocked in every thread), non-blocking and close-on-exec. */
export function signalFd(signals: number[]): number {
  return check("signalfd", libc().signalfd(-1, sigset(signals), SFD_NONBLOCK | SFD_CLOEXEC));
}

/**
 * Reads every pending record of a non-blocking signalfd; returns the signal numbers (empty when none is
 * pending).
 */
export function readSignalFd(fd: number): number[] {
  const out: number[] = [];
  const info = new Uint8Array(128); // struct signalfd_siginfo
  while (true) {
    const n = Number(libc().read(fd, info, 128n));
    if (n < 128) {
      if (n < 0 && errno() !== 11) throw new LibcError("read signalfd", errno()); // 11: EAGAIN
      return out;
    }
    out.push(new DataView(info.buffer).getUint32(0, true)); // ssi_signo
  }
}

// --- Credentials of the calling thread -------------------------------------------------------------------------
// Linux keeps credentials per thread; glibc's setuid/setgroups wrappers change every thread of the process. These
// are the raw system calls, which change only the calling thread: a child that this thread forks next inherits
// them, the rest of the process does not notice.

const SYS_GETGROUPS = 115;
const SYS_SETGROUPS = 116;
const SYS_SETRESUID = 117;
const SYS_GETRESUID = 118;
const SYS_SETRESGID = 119;
const SYS_GETRESGID = 120;
const SYS_CAPGET = 125;
const SYS_CAPSET = 126;

/** Real, effective and saved ids. */
export interface ResIds {
  real: number;
  effective: number;
  saved: number;
}

function rawSyscall(name: string, nr: number, a1 = 0n, a2 = 0n, a3 = 0n): number {
  return check(name, libc().syscall(BigInt(nr), a1, a2, a3));
}

function addressOf(buf: Uint8Array): bigint {
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
}

function getRes(name: string, nr: number): ResIds {
  const ids = new Uint32Array(3);
  const bytes = new Uint8Array(ids.buffer);
  const a = addressOf(bytes);
  rawSyscall(name, nr, a, a + 4n, a + 8n);
  keepAlive(bytes);
  return { real: ids[0]!, effective: ids[1]!, saved: ids[2]! };
}

/** getresuid(2) of the calling thread. */
export function threadGetresuid(): ResIds {
  return getRes("getresuid", SYS_GETRESUID);
}

/** getresgid(2) of the calling thread. */
export function threadGetresgid(): ResIds {
  return getRes("getresgid", SYS_GETRESGID);
}

/** The id that setres*id(2) leaves unchanged. */
const KEEP_ID = 0xffffffffn;

/** setresuid(2) for the calling thread only; `undefined` keeps an id. */
export function threadSetresuid(real?: number, effective?: number, saved?: number): void {
  const id = (v?: number) => v === undefined ? KEEP_ID : BigInt(v);
  rawSyscall("setresuid", SYS_SETRESUID, id(real), id(effective), id(saved));
}

/** setresgid(2) for the calling thread only; `undefined` keeps an id. */
export function threadSetresgid(real?: number, effective?: number, saved?: number): void {
  const id = (v?: number) => v === undefined ? KEEP_ID : BigInt(v);
  rawSyscall("setresgid", SYS_SETRESGID, id(real), id(effective), id(saved));
}

/** getgroups(2) of the calling thread. */
export function threadGetgroups(): number[] {
  const n = rawSyscall("getgroups", SYS_GETGROUPS);
  const list = new Uint32Array(Math.max(n, 1));
  const bytes = new Uint8Array(list.buffer);
  const got = rawSyscall("getgroups", SYS_GETGROUPS, BigInt(list.length), addressOf(bytes));
  keepAlive(bytes);
  return [...list.subarray(0, got)];
}

/** setgroups(2) for the calling thread only. */
export function threadSetgroups(gids: readonly number[]): void {
  const list = new Uint32Array(Math.max(gids.length, 1));
  list.set(gids);
  const bytes = new Uint8Array(list.buffer);
  rawSyscall("setgroups", SYS_SETGROUPS, BigInt(gids.length), addressOf(bytes));
  keepAlive(bytes);
}

/** Effective, permitted and inheritable capability sets (bit N = capability N). */
export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

const CAP_VERSION_3 = 0x20080522;

/** capget(2) of the calling thread. */
export function threadCapget(): CapSets {
  const header = new Uint8Array(new Uint32Array([CAP_VERSION_3, 0]).buffer);
  const data = new Uint32Array(6); // two struct __user_cap_data_struct { effective, permitted, inheritable }
  const bytes = new Uint8Array(data.buffer);
  rawSyscall("capget", SYS_CAPGET, addressOf(header), addressOf(bytes));
  keepAlive(header);
  keepAlive(bytes);
  const join = (lo: number, hi: number) => BigInt(data[lo]!) | (BigInt(data[hi]!) << 32n);
  return { effective: join(0, 3), permitted: join(1, 4), inheritable: join(2, 5) };
}

/** capset(2) for the calling thread only. */
export function threadCapset(sets: CapSets): void {
  const header = new Uint8Array(new Uint32Array([CAP_VERSION_3, 0]).buffer);
  const lo = (v: bigint) => Number(v & 0xffffffffn);
  const hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
  const data = new Uint32Array([
    lo(sets.effective),
    lo(sets.permitted),
    lo(sets.inheritable),
    hi(sets.effective),
    hi(sets.permitted),
    hi(sets.inheritable),
  ]);
  const bytes = new Uint8Array(data.buffer);
  rawSyscall("capset", SYS_CAPSET, addressOf(header), addressOf(bytes));
  keepAlive(header);
  keepAlive(bytes);
}

/** prctl options for the calling thread's capabilities and exec behaviour. */
export const PR_CAPBSET_READ = 23;
/** Drops one capability from the calling thread's bounding set (needs CAP_SETPCAP). */
export const PR_CAPBSET_DROP = 24;
/** execve never grants privileges again (setuid bits and file capabilities are ignored); inherited. */
export const PR_SET_NO_NEW_PRIVS = 38;
/** Ambient capability operations. */
export const PR_CAP_AMBIENT = 47;
/** PR_CAP_AMBIENT sub-operations. */
export const PR_CAP_AMBIENT_RAISE = 2;
/** PR_CAP_AMBIENT sub-operations. */
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

/** Reads `fd` to its end (a blocking descriptor: an iterator, a pipe). */
export function readToEnd(fd: number, max = Number.MAX_SAFE_INTEGER): Uint8Array {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  let total = 0;
  while (true) {
    const n = check("read", libc().read(fd, buf, BigInt(buf.length)));
    if (n === 0) break;
    total += n;
    if (total > max) throw new LibcError("read: more data than expected", 90); // EMSGSIZE
    chunks.push(buf.slice(0, n));
  }
  buf.fill(0);
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

// --- Unix stream sockets with descriptor passing (x00 agent / x00 exec) ---------------------------------------

const AF_UNIX = 1;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;
const MSG_NOSIGNAL = 0x4000;
const POLLIN = 1;
const SHUT_RDWR = 2;

/** struct sockaddr_un for `path` (at most 107 bytes). */
function sockaddrUn(path: string): Uint8Array {
  const bytes = new TextEncoder().encode(path);
  if (bytes.length > 107) throw new LibcError(`socket path ${path}`, 36); // ENAMETOOLONG
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(bytes, 2);
  return addr;
}

/** A listening Unix stream socket bound to `path` (close-on-exec). */
export function unixListen(path: string, backlog: number): number {
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  try {
    check("bind", libc().bind(fd, sockaddrUn(path), 110));
    check("listen", libc().listen(fd, backlog));
    return fd;
  } catch (e) {
    close(fd);
    throw e;
  }
}

/** Waits for the next connection on a listening socket; the new descriptor is close-on-exec. */
export async function unixAccept(fd: number): Promise<number> {
  const r = await libc().accept4(fd, null, null, SOCK_CLOEXEC);
  if (r < 0) throw new LibcError("accept4", errno());
  return r;
}

/** Wakes and ends every accept() on `fd` (closing alone does not). */
export function shutdownSocket(fd: number): void {
  libc().shutdown(fd, SHUT_RDWR);
}

/** Connects a Unix stream socket (close-on-exec) to `path`. */
export function unixConnect(path: string): number {
  const fd = check("socket", libc().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (libc().connect(fd, sockaddrUn(path), 110) !== 0) {
    const err = errno();
    close(fd);
    throw new LibcError(`connect ${path}`, err);
  }
  return fd;
}

/** struct msghdr with one iovec over `data` and a control buffer `control` (64-bit layout). */
function msghdr(
  data: Uint8Array,
  control: Uint8Array | null,
): { msg: Uint8Array; keep: Uint8Array[] } {
  const iov = new Uint8Array(16);
  const iv = new DataView(iov.buffer);
  iv.setBigUint64(0, addressOf(data), true);
  iv.setBigUint64(8, BigInt(data.length), true);
  const msg = new Uint8Array(56);
  const mv = new DataView(msg.buffer);
  mv.setBigUint64(16, addressOf(iov), true); // msg_iov
  mv.setBigUint64(24, 1n, true); // msg_iovlen
  if (control) {
    mv.setBigUint64(32, addressOf(control), true); // msg_control
    mv.setBigUint64(40, BigInt(control.length), true); // msg_controllen
  }
  return { msg, keep: [iov, data, ...(control ? [control] : [])] };
}

/** Sends `data` with `fds` attached (SCM_RIGHTS) on the first byte, then the rest of `data`. */
export function sendWithFds(fd: number, data: Uint8Array, fds: readonly number[]): void {
  let control: Uint8Array | null = null;
  if (fds.length > 0) {
    const len = 16 + 4 * fds.length; // CMSG_LEN
    control = new Uint8Array((len + 7) & ~7); // CMSG_SPACE
    const cv = new DataView(control.buffer);
    cv.setBigUint64(0, BigInt(len), true);
    cv.setInt32(8, SOL_SOCKET, true);
    cv.setInt32(12, SCM_RIGHTS, true);
    fds.forEach((f, i) => cv.setInt32(16 + 4 * i, f, true));
  }
  const { msg, keep } = msghdr(data, control);
  const n = check("sendmsg", libc().sendmsg(fd, msg, MSG_NOSIGNAL));
  for (const k of keep) keepAlive(k);
  if (n < data.length) writeAll(fd, data.subarray(n));
}

/** Receives up to `max` bytes and up to `maxFds` descriptors (close-on-exec) in one recvmsg (blocking). */
export function recvWithFds(
  fd: number,
  max: number,
  maxFds: number,
): { data: Uint8Array; fds: number[] } {
  const data = new Uint8Array(Math.min(max, 65536));
  const control = new Uint8Array((16 + 4 * maxFds + 7) & ~7);
  const { msg, keep } = msghdr(data, control);
  const n = check("recvmsg", libc().recvmsg(fd, msg, MSG_CMSG_CLOEXEC));
  for (const k of keep) keepAlive(k);
  const fds: number[] = [];
  const controlLen = Number(new DataView(msg.buffer).getBigUint64(40, true));
  const cv = new DataView(control.buffer);
  let off = 0;
  while (off + 16 <= controlLen) {
    const len = Number(cv.getBigUint64(off, true));
    if (len < 16) break;
    if (cv.getInt32(off + 8, true) === SOL_SOCKET && cv.getInt32(off + 12, true) === SCM_RIGHTS) {
      for (let p = off + 16; p + 4 <= off + len; p += 4) fds.push(cv.getInt32(p, true));
    }
    off += (len + 7) & ~7;
  }
  const out = data.slice(0, n);
  data.fill(0);
  return { data: out, fds };
}

/** Waits until `fd` is readable, up to `timeoutMs`; false on timeout. */
export async function waitReadable(fd: number, timeoutMs: number): Promise<boolean> {
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, POLLIN, true);
  const r = await libc().poll(pfd, 1n, timeoutMs);
  keepAlive(pfd);
  if (r < 0) throw new LibcError("poll", errno());
  return r > 0;
}

/** One read of at most `max` bytes (what is there now, after {@linkcode waitReadable}). */
export function readAvailable(fd: number, max: number): Uint8Array {
  const buf = new Uint8Array(max);
  const n = check("read", libc().read(fd, buf, BigInt(max)));
  return buf.subarray(0, n);
}

// --- pidfds: signalling a process in another pid namespace (x00 agent rotation) ----------------------------------

const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_PIDFD_OPEN = 434;

/** pidfd_open(2) of `pid` (close-on-exec). */
export function pidfdOpen(pid: number): number {
  return rawSyscall("pidfd_open", SYS_PIDFD_OPEN, BigInt(pid), 0n);
}

/** pidfd_send_signal(2). False when the process is gone (ESRCH). */
export function pidfdSendSignal(pidfd: number, signal: number): boolean {
  const r = Number(
    libc().syscall4(BigInt(SYS_PIDFD_SEND_SIGNAL), BigInt(pidfd), BigInt(signal), 0n, 0n),
  );
  if (r === 0) return true;
  const err = errno();
  if (err === 3) return false; // ESRCH
  throw new LibcError("pidfd_send_signal", err);
}
