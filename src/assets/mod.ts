/**
 * Embedded assets: BPF objects, and for the single binary the native libraries (libbpf and its dependencies). Read
 * through `import.meta.url`, so the same code works from a source checkout and inside a
 * `deno compile --include bpf/objects --include build/native` binary, whose virtual file system serves the same
 * paths.
 *
 * @module
 */

/** Names of the BPF objects X00 ships (files `bpf/objects/<name>.bpf.o`). */
export type BpfObjectName =
  | "exec_monitor"
  | "lsm_file_protect"
  | "access_monitor";

/** The URL of an embedded BPF object. */
export function bpfObjectUrl(name: BpfObjectName): URL {
  return new URL(`../../bpf/objects/${name}.bpf.o`, import.meta.url);
}

/**
 * Reads an embedded BPF object.
 *
 * @example Usage
 * ```ts ignore
 * const image = await readBpfObject("exec_monitor");
 * ```
 */
export async function readBpfObject(name: BpfObjectName): Promise<Uint8Array> {
  const url = bpfObjectUrl(name);
  try {
    return await Deno.readFile(url);
  } catch (cause) {
    throw new Error(
      `Cannot read BPF object '${name}' at ${url.pathname}: run 'deno task build:bpf' (or rebuild the binary)`,
      { cause },
    );
  }
}

/** Native libraries the single binary carries, in load order (dependencies first). */
export const NATIVE_LIBRARIES = ["libz.so.1", "libelf.so.1", "libbpf.so.1"] as const;

/** The URL of an embedded native library (present in release binaries, absent in a plain checkout). */
export function nativeLibraryUrl(name: (typeof NATIVE_LIBRARIES)[number]): URL {
  return new URL(`../../build/native/${name}`, import.meta.url);
}

/** Reads an embedded native library, or undefined when this build carries none. */
export function readNativeLibrary(name: (typeof NATIVE_LIBRARIES)[number]): Uint8Array | undefined {
  try {
    return Deno.readFileSync(nativeLibraryUrl(name));
  } catch {
    return undefined;
  }
}
