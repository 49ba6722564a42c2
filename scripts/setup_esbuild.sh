#!/usr/bin/env bash
# Seeds the esbuild binary that `deno bundle` runs, from the npm package @esbuild/linux-x64, into
# $DENO_DIR/dl/esbuild-<version>-1/ where Deno looks for it. Deno can fetch it itself from the
# npm registry; seeding makes the bundle step independent of that internal download.
# Usage: setup_esbuild.sh [path-to-deno]
set -euo pipefail

ESBUILD_VERSION=0.25.5 # the version deno 2.9.6 bundles with
deno_bin=${1:-deno}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64) platform=linux-arm64 ;;
  *) echo "setup_esbuild: no seed for $(uname -s)-$(uname -m); deno bundle fetches its own"; exit 0 ;;
esac

deno_dir=$("$deno_bin" info --json | "$deno_bin" eval --quiet \
  'console.log(JSON.parse(await new Response(Deno.stdin.readable).text()).denoDir)')
target="${deno_dir}/dl/esbuild-${ESBUILD_VERSION}-1/esbuild-${platform}"
if [ -x "$target" ]; then
  echo "setup_esbuild: $target present"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@esbuild/${platform}@${ESBUILD_VERSION}" >/dev/null)
tar -xzf "$work"/esbuild-*.tgz -C "$work" package/bin/esbuild
mkdir -p "$(dirname "$target")"
install -m 0755 "$work/package/bin/esbuild" "$target.tmp"
mv "$target.tmp" "$target"
echo "setup_esbuild: seeded $target"
