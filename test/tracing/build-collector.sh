#!/usr/bin/env bash
# Builds a minimal OpenTelemetry Collector (the OTLP receiver and the file
# exporter, wired in test/tracing/collector/main.go as the collector's builder
# wires a distribution) into .cache/bin for the tracing tests, from the Go
# module proxy. With --check it builds nothing and exits 1 when the binary is
# missing or stale (test/setup/ensure.mjs asks this way). Cold (empty module
# and build caches) it fetched 410 MB of modules and took 3m54s on 2 busy
# cores (1m38s of CPU); incremental rebuilds take seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."

SRC="$PWD/test/tracing/collector"
BIN="$PWD/.cache/bin/otelcol-switchyard"
# The stamp says which sources the binary was built from, without running it.
STAMP="$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" | sha256sum | cut -c1-16)"

if [[ -x "$BIN" && "$(cat "$BIN.version" 2>/dev/null)" == "$STAMP" ]]; then
  exit 0
fi
[[ "${1:-}" == "--check" ]] && exit 1
command -v go >/dev/null || { echo "test/tracing/build-collector.sh: needs Go on PATH (https://go.dev/dl/)" >&2; exit 1; }

echo "== otelcol-switchyard: building into .cache/bin from the Go module proxy ($(date +%T))" >&2
mkdir -p "$(dirname "$BIN")"
rm -f "$BIN.version"
(cd "$SRC" && GOFLAGS=-buildvcs=false go build -trimpath -o "$BIN.tmp" .)
mv "$BIN.tmp" "$BIN"
echo "$STAMP" >"$BIN.version"
echo "== otelcol-switchyard: done ($(date +%T))" >&2
