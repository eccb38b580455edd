#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (FUZZTIME, default 10s each):
# the campaign parser, the template renderer, the rule compiler, the
# purchase webhook and the unsubscribe token. `make test` runs it short;
# `make fuzz FUZZTIME=5m` runs it long. A failing input is saved under the
# package's testdata/fuzz and then replays in every plain `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
targets=(
  "./campaigns FuzzParse"
  "./campaigns FuzzRender"
  "./rules FuzzCompile"
  "./triggers FuzzPurchaseHandler"
  "./channels/unsubscribe FuzzVerify"
)
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "fuzz $pkg $name for $fuzztime"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 2 "$pkg" | grep -v '^fuzz: elapsed' || exit 1
done
