#!/usr/bin/env bash
# Builds h2spec (HTTP/2 conformance, github.com/summerwind/h2spec) into
# .cache/bin, from the Go module proxy, at the versions test/h2spec/go.mod
# and go.sum pin (h2spec's last tagged release, v2.2.1, predates Go modules).
# Needs a Go toolchain (>= 1.21) on PATH. With --check it builds nothing and
# exits 1 when the binary is missing or was built from another go.mod
# (test/setup/ensure.mjs asks this way). About 30 s on 2 cores the first time.
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN="$PWD/.cache/bin/h2spec"
STAMP="$(cat test/h2spec/go.mod test/h2spec/go.sum | cksum | cut -d' ' -f1)"

if [[ -x "$BIN" && "$(cat "$BIN.version" 2>/dev/null)" == "$STAMP" ]]; then
  exit 0
fi
[[ "${1:-}" == "--check" ]] && exit 1
command -v go >/dev/null || { echo "test/h2spec/build.sh: needs Go on PATH (https://go.dev/dl/)" >&2; exit 1; }
echo "== h2spec: building into .cache/bin from the Go module proxy ($(date +%T))" >&2
mkdir -p "$(dirname "$BIN")"
(cd test/h2spec && GOFLAGS=-mod=readonly GOTOOLCHAIN=local go build -o "$BIN" github.com/summerwind/h2spec/cmd/h2spec)
echo "$STAMP" >"$BIN.version"
echo "== h2spec: done ($(date +%T))" >&2
