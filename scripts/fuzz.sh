#!/usr/bin/env bash
# Runs every fuzz target for a bounded budget (FUZZTIME, default 20000x:
# that many inputs each): the campaign parser, the template renderer, the
# rule compiler, the purchase webhook, the unsubscribe token and the bounce
# parser. `make test` runs it short; `make fuzz` runs it long. A failing input is saved under the
# package's testdata/fuzz and then replays in every plain `go test`.
# Budgets are counts, not durations: Go 1.26's fuzz coordinator can fail a
# duration budget with a spurious "context deadline exceeded" when the
# machine is busy (golang/go#75804, fixed in Go 1.27).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-20000x}
targets=(
  "./campaigns FuzzParse"
  "./campaigns FuzzRender"
  "./rules FuzzCompile"
  "./triggers FuzzPurchaseHandler"
  "./web/unsubscribe FuzzVerify"
  "./channels/email/bounce FuzzParse"
)
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "fuzz $pkg $name for $fuzztime"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 2 "$pkg" | grep -v '^fuzz: elapsed' || exit 1
done
