// The ES-module build of npm:yaml@2.9.1 as one module (bundle.js, made by scripts/vendor_yaml.ts; ISC license in
// LICENSE), with the package's own types.
// @ts-self-types="yaml-npm"
export * from "./bundle.js";
export { default } from "./bundle.js";
