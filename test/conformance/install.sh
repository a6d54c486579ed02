#!/usr/bin/env bash
# Installs the Connect conformance runner and reference server (Go) into
# .cache/go/bin, once per version. Needs a Go toolchain (>= 1.21) on PATH.
# With --check it installs nothing and exits 1 when they are missing or stale
# (test/setup/ensure.mjs asks this way).
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION="${CONFORMANCE_VERSION:-v1.0.5}"
BIN="$PWD/.cache/go/bin"

if [[ -x "$BIN/connectconformance" && -x "$BIN/referenceserver" ]] &&
  [[ "$("$BIN/connectconformance" --version 2>/dev/null)" == "connectconformance $VERSION" ]]; then
  exit 0
fi
[[ "${1:-}" == "--check" ]] && exit 1
command -v go >/dev/null || { echo "test/conformance/install.sh: needs Go on PATH (https://go.dev/dl/)" >&2; exit 1; }
echo "== installing connectconformance and referenceserver $VERSION into .cache/go/bin" >&2
GOBIN="$BIN" go install \
  "connectrpc.com/conformance/cmd/connectconformance@$VERSION" \
  "connectrpc.com/conformance/cmd/referenceserver@$VERSION"
