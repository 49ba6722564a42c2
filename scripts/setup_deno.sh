#!/usr/bin/env bash
# Prints the path of the real Deno binary, installing the pinned npm package `deno` if needed.
# Callers run the binary directly: the npx/node wrapper adds ~60 ms to every call.
set -euo pipefail

DENO_VERSION=2.9.6

deno_bin=$(npx --yes "deno@${DENO_VERSION}" eval 'console.log(Deno.execPath())' </dev/null)
version=$("$deno_bin" --version | head -n 1)
case "$version" in
  "deno ${DENO_VERSION} "*) ;;
  *) echo "setup_deno: expected deno ${DENO_VERSION}, got: ${version}" >&2; exit 1 ;;
esac
echo "$deno_bin"
