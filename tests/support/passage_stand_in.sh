#!/bin/sh
# A stand-in for passage (FiloSottile's pass on age), which Debian does not ship (its "passage"
# package is a game). It does what passage does for the commands aws-vault uses, with the real
# `age`: entries are <PASSAGE_DIR>/<name>.age encrypted to <PASSAGE_DIR>/.age-recipients and read
# with PASSAGE_IDENTITIES_FILE. It logs argv (never stdin) to PASSAGE_ARGV_LOG when set.
set -eu
dir=${PASSAGE_DIR:-$HOME/.passage/store}
ids=${PASSAGE_IDENTITIES_FILE:-$HOME/.passage/identities}
[ -n "${PASSAGE_ARGV_LOG:-}" ] && printf '%s\n' "$*" >> "$PASSAGE_ARGV_LOG"
cmd=$1; shift
while [ $# -gt 0 ]; do
  case $1 in
    -m|-f|--multiline|--force) shift ;;
    --) shift; break ;;
    *) break ;;
  esac
done
name=$1
case $name in *..*) echo "Error: You've attempted to pass a sneaky path to passage." >&2; exit 1 ;; esac
file="$dir/$name.age"
case $cmd in
  insert)
    [ -f "$dir/.age-recipients" ] || { echo "Error: no recipients in $dir/.age-recipients" >&2; exit 1; }
    mkdir -p "$(dirname "$file")"
    age -e -R "$dir/.age-recipients" -o "$file.tmp"
    mv "$file.tmp" "$file" ;;
  show)
    [ -f "$file" ] || { echo "Error: $name is not in the password store." >&2; exit 1; }
    age -d -i "$ids" "$file" ;;
  rm)
    [ -f "$file" ] || { echo "Error: $name is not in the password store." >&2; exit 1; }
    rm -f "$file"; rmdir -p "$(dirname "$file")" 2>/dev/null || true ;;
  *) echo "passage stand-in: unsupported command $cmd" >&2; exit 1 ;;
esac
