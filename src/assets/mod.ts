/**
 * Embedded assets (BPF objects). Read through `import.meta.url`, so the same code works from a source checkout
 * and inside a `deno compile --include bpf/objects` binary, whose virtual file system serves the same paths.
 *
 * @module
 */

/** Names of the BPF objects X00 ships (files `bpf/objects/<name>.bpf.o`). */
export type BpfObjectName = "exec_monitor" | "lsm_file_protect" | "access_monitor";

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
