/**
 * jose's compact JWE encryption, alone: backends/file.ts imports this module when it first
 * writes an item. A named re-export lets the bundler keep only what encryption needs of jose;
 * `await import("jose")` kept all of it (a 60 KB module), in a file every start reads whole.
 */
export { CompactEncrypt } from "jose";
