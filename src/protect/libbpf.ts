/**
 * libbpf as X00 uses it: the bindings of `ffi/libbpf.ts`, with X00's choice of library made before the first
 * call. In this order: the file named by `X00_LIBBPF_PATH`; the copy embedded in a single binary (loaded from
 * memfds, never written to disk) unless `X00_LIBBPF_SYSTEM=1`; `libbpf.so.1` from the system. Every module of
 * `src/` imports libbpf from here, so the choice is made in one place.
 *
 * @module
 */
import { setLibbpfSource } from "../../ffi/libbpf.ts";
import { NATIVE_LIBRARIES, readNativeLibrary } from "../assets/mod.ts";

export * from "../../ffi/libbpf.ts";

/** Where X00 loads libbpf from, per its environment and build. */
function x00LibbpfSource() {
  const override = Deno.env.get("X00_LIBBPF_PATH");
  if (override) return { path: override };
  if (Deno.env.get("X00_LIBBPF_SYSTEM") !== "1") {
    const images = NATIVE_LIBRARIES.map((soname) => ({ soname, image: readNativeLibrary(soname) }));
    if (images.every((i) => i.image !== undefined)) {
      return { images: images.map((i) => ({ soname: i.soname, image: i.image! })) };
    }
  }
  return { path: "libbpf.so.1" };
}

setLibbpfSource({
  resolve: x00LibbpfSource,
  // With X00_DEBUG, errors carry libbpf's debug lines too (printed by --verbose or X00_DEBUG).
  debugLog: Deno.env.get("X00_DEBUG") !== undefined,
  hint:
    "install it (Debian/Ubuntu: apt-get install libbpf1) or set X00_LIBBPF_PATH to the path of libbpf.so.1",
});
