#!/usr/bin/env bash
# Builds kustomize into .cache/bin for the deploy/ manifest tests
# (test/kubernetes/deploy.test.ts render deploy/kubernetes/base with it, as
# `kubectl apply -k` would). Needs a Go toolchain on PATH and only the Go
# module proxy. With --check it builds nothing and exits 1 when the binary is
# missing or stale (test/setup/ensure.mjs asks this way).
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION="${KUSTOMIZE_VERSION:-v5.8.1}"
BIN="$PWD/.cache/bin/kustomize"

if [[ -x "$BIN" && "$(cat "$BIN.version" 2>/dev/null)" == "$VERSION" ]]; then
  exit 0
fi
[[ "${1:-}" == "--check" ]] && exit 1
command -v go >/dev/null || { echo "test/kubernetes/build-kustomize.sh: needs Go on PATH (https://go.dev/dl/)" >&2; exit 1; }

echo "== kustomize $VERSION: building into .cache/bin (about a minute on 2 cores the first time) ($(date +%T))" >&2
mkdir -p "$(dirname "$BIN")"
rm -f "$BIN.version"
GOBIN="$(dirname "$BIN")" GOFLAGS="-trimpath -buildvcs=false" go install -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@$VERSION"
"$BIN" version >/dev/null
echo "$VERSION" >"$BIN.version"
echo "== kustomize $VERSION: built into .cache/bin/kustomize ($(date +%T))" >&2
