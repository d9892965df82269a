// The ES-module build of npm:yaml@2.9.1 (copied by scripts/vendor_yaml.ts; ISC license in LICENSE), with the
// package's own types.
// @ts-self-types="yaml-npm"
export * from "./index.js";
export { default } from "./index.js";
