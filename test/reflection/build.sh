#!/usr/bin/env bash
# Builds what the reflection tests need into .cache/bin, once per version:
#   reflection-upstream  a grpc-go server with server reflection serving an API
#                        the gateway has no descriptor for (test/reflection/upstream)
#   grpcurl              the usual command-line client, to list, describe and call
#                        through the gateway's own reflection
# Needs a Go toolchain (>= 1.24) on PATH and the Go module proxy. With --check
# it builds nothing and exits 1 when either is missing or stale
# (test/setup/ensure.mjs asks this way).
set -euo pipefail
cd "$(dirname "$0")/../.."

GRPCURL_VERSION="${GRPCURL_VERSION:-v1.9.4}"
BIN="$PWD/.cache/bin"
SRC="test/reflection/upstream"
# The upstream is rebuilt when its source changes: the stamp is the sources' hash.
STAMP="$(cat "$SRC/main.go" "$SRC/go.mod" "$SRC/go.sum" | sha256sum | cut -c1-16)"

upstream_ok() { [[ -x "$BIN/reflection-upstream" && "$(cat "$BIN/reflection-upstream.version" 2>/dev/null)" == "$STAMP" ]]; }
grpcurl_ok() { [[ -x "$BIN/grpcurl" && "$("$BIN/grpcurl" -version 2>&1)" == "grpcurl $GRPCURL_VERSION" ]]; }

if upstream_ok && grpcurl_ok; then exit 0; fi
[[ "${1:-}" == "--check" ]] && exit 1
command -v go >/dev/null || { echo "test/reflection/build.sh: needs Go on PATH (https://go.dev/dl/)" >&2; exit 1; }
mkdir -p "$BIN"

if ! upstream_ok; then
  echo "== building reflection-upstream (grpc-go with server reflection) into .cache/bin" >&2
  (cd "$SRC" && GOFLAGS="-trimpath -buildvcs=false -mod=readonly" go build -ldflags "-s -w" -o "$BIN/reflection-upstream.tmp" .)
  mv "$BIN/reflection-upstream.tmp" "$BIN/reflection-upstream"
  echo "$STAMP" >"$BIN/reflection-upstream.version"
fi
if ! grpcurl_ok; then
  echo "== installing grpcurl $GRPCURL_VERSION into .cache/bin" >&2
  GOBIN="$BIN" GOFLAGS="-trimpath" go install -ldflags "-s -w -X main.version=$GRPCURL_VERSION" "github.com/fullstorydev/grpcurl/cmd/grpcurl@$GRPCURL_VERSION"
fi
