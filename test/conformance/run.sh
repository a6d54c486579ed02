#!/usr/bin/env bash
# Runs the Connect conformance suite (server mode) through a Switchyard gateway,
# once per upstream mode, and fails if any run fails.
#
#   test/conformance/run.sh                      # all four modes
#   test/conformance/run.sh grpc connect         # some modes
#   test/conformance/run.sh same -- --run 'Basic/**' --trace   # flags for connectconformance
#
# Each mode is its own connectconformance invocation with test/conformance/<mode>.yaml
# (and <mode>.known-failing.txt when it lists anything). The full output of each run
# is kept in .cache/conformance/<mode>.log.
# Environment: CONFORMANCE_PARALLEL (RPCs in flight, default 4),
# CONFORMANCE_MAX_SERVERS (gateway+upstream pairs at once, default 2).
set -uo pipefail
cd "$(dirname "$0")/../.."

ALL_MODES=(same grpc connect grpc-web)
modes=()
extra=()
while (($#)); do
  case "$1" in
    --) shift; extra=("$@"); break ;;
    same | grpc | connect | grpc-web) modes+=("$1"); shift ;;
    *) echo "run.sh: unknown mode \"$1\" (expected: ${ALL_MODES[*]}; runner flags go after --)" >&2; exit 2 ;;
  esac
done
((${#modes[@]})) || modes=("${ALL_MODES[@]}")

test/conformance/install.sh || exit 1
# The wrapper imports the generated conformance stubs from gen/.
[[ -f gen/connectrpc/conformance/v1/server_compat_pb.ts ]] || npx buf generate || exit 1

RUNNER=.cache/go/bin/connectconformance
LOGS=.cache/conformance
mkdir -p "$LOGS"

failed=()
for mode in "${modes[@]}"; do
  args=(--mode server --conf "test/conformance/$mode.yaml"
    --parallel "${CONFORMANCE_PARALLEL:-4}" --max-servers "${CONFORMANCE_MAX_SERVERS:-2}")
  known="test/conformance/$mode.known-failing.txt"
  if [[ -f "$known" ]] && grep -qv '^\s*\(#\|$\)' "$known"; then args+=(--known-failing "@$known"); fi
  log="$LOGS/$mode.log"
  echo "== conformance: mode $mode (log: $log)"
  start=$SECONDS
  "$RUNNER" "${args[@]}" "${extra[@]}" -- node --import tsx test/conformance/server.ts --mode "$mode" >"$log" 2>&1
  rc=$?
  if ((rc == 0)); then
    # Only the summary; known failures (INFO) would be listed above it.
    grep -E '^(Total cases|[0-9]+ passed|\(|Another)' "$log" | sed 's/^/   /'
  else
    # connectconformance prints only failures and the summary: show it all.
    sed 's/^/   /' "$log"
    failed+=("$mode")
  fi
  echo "   mode $mode: exit $rc after $((SECONDS - start)) s"
done

if ((${#failed[@]})); then
  echo "== conformance FAILED in mode(s): ${failed[*]}"
  exit 1
fi
echo "== conformance passed in mode(s): ${modes[*]}"
