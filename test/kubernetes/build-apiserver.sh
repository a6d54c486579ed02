#!/usr/bin/env bash
# Builds a real kube-apiserver into .cache/bin for the Kubernetes discovery
# tests, once per version. Needs a Go toolchain (>= 1.24) on PATH and only the
# Go module proxy: k8s.io/kubernetes cannot be `go install`ed (its go.mod
# replaces the k8s.io/* staging modules with directories), so this builds it
# from a throwaway module in .cache/kube-build that requires k8s.io/kubernetes
# and replaces each staging module with its published v0.x release.
# With --check it builds nothing and exits 1 when the binary is missing or
# stale (test/setup/ensure.mjs asks this way). About 9 minutes on 2 cores the
# first time; Go's module and build caches make a rebuild quicker.
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION="${KUBE_VERSION:-v1.34.4}"           # k8s.io/kubernetes
STAGING="v0.${VERSION#v1.}"                  # its staging modules: v1.34.4 -> v0.34.4
BIN="$PWD/.cache/bin/kube-apiserver"
WORK="$PWD/.cache/kube-build"

# The stamp says which version the binary is, without running it (the check runs on every npm test).
if [[ -x "$BIN" && "$(cat "$BIN.version" 2>/dev/null)" == "$VERSION" ]]; then
  exit 0
fi
[[ "${1:-}" == "--check" ]] && exit 1
command -v go >/dev/null || { echo "test/kubernetes/build-apiserver.sh: needs Go on PATH (https://go.dev/dl/)" >&2; exit 1; }

step() { echo "== kube-apiserver $VERSION: $* ($(date +%T))" >&2; }
step "building into .cache/bin (about 9 minutes on 2 cores the first time)"
rm -rf "$WORK" "$BIN.version" && mkdir -p "$WORK" "$(dirname "$BIN")"
cd "$WORK"

step "fetching k8s.io/kubernetes@$VERSION's go.mod from the module proxy"
GOMOD="$(go mod download -json "k8s.io/kubernetes@$VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[[ -f "$GOMOD" ]] || { echo "could not download k8s.io/kubernetes@$VERSION" >&2; exit 1; }
# Every `k8s.io/<name> => ./staging/src/k8s.io/<name>` line names a staging module.
mapfile -t MODULES < <(sed -n 's|^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/.*$|\1|p' "$GOMOD")
[[ ${#MODULES[@]} -gt 0 ]] || { echo "no staging replace directives in $GOMOD" >&2; exit 1; }

cat >go.mod <<MOD
module switchyard.test/kube-build

go $(sed -n 's/^go \([0-9.]*\)$/\1/p' "$GOMOD")

require k8s.io/kubernetes $VERSION
MOD
for m in "${MODULES[@]}"; do go mod edit -replace "$m=$m@$STAGING"; done
# go mod tidy keeps what this file imports: everything cmd/kube-apiserver needs.
cat >tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
)
GO

step "resolving modules (${#MODULES[@]} staging modules at $STAGING; log in .cache/kube-build/tidy.log)"
GOFLAGS=-mod=mod go mod tidy >tidy.log 2>&1 || { tail -30 tidy.log >&2; exit 1; }

step "compiling"
# A line a minute, so a long quiet compile does not look hung.
(m=0; while sleep 60; do m=$((m + 1)); echo "== kube-apiserver $VERSION: still compiling ($m min)" >&2; done) &
TICKER=$!
trap 'kill "$TICKER" 2>/dev/null' EXIT
PKG=k8s.io/component-base/version
MINOR="${VERSION#v1.}"; MINOR="${MINOR%%.*}"
GOFLAGS="-trimpath -buildvcs=false" go build -o "$BIN.tmp" \
  -ldflags "-s -w -X $PKG.gitVersion=$VERSION -X $PKG.gitMajor=1 -X $PKG.gitMinor=$MINOR -X $PKG.gitTreeState=clean" \
  k8s.io/kubernetes/cmd/kube-apiserver
BUILT="$("$BIN.tmp" --version)"
[[ "$BUILT" == "Kubernetes $VERSION" ]] || { echo "the new binary says \"$BUILT\", not Kubernetes $VERSION" >&2; exit 1; }
mv "$BIN.tmp" "$BIN"
echo "$VERSION" >"$BIN.version"
step "built $BUILT into .cache/bin/kube-apiserver"
