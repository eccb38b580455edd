# Tidings: make targets. `make test` is what CI runs.
GO        ?= go
BIN       := bin/tidings
PKGS      := ./...
SHORT_FUZZ ?= 20000x
# The CDNOW acceptance tests (Test*CDNOW*) replay a tenth of the log under
# -race (storetest.CDNOWPurchases); make test runs them once more without
# -race on the whole log, in these packages.
CDNOW_FULL_PKGS ?= ./store/imports ./triggers ./cmd/tidings ./worker

.PHONY: build test fuzz bench demo lint clean

build: ## build bin/tidings
	$(GO) build -o $(BIN) ./cmd/tidings

test: ## vet, every test with -race against SQLite files, PostgreSQL (and its read replica) and Redis (found or started), the CDNOW tests on the whole log, short fuzzing
	@eval "$$(TIDINGS_TEST_REPLICA=$${TIDINGS_TEST_REPLICA:-1} scripts/test-services.sh)" && \
	  echo "tests use $$TIDINGS_TEST_DATABASE_URL and $$TIDINGS_TEST_REDIS_URL" && \
	  $(GO) vet $(PKGS) && \
	  $(GO) test -race -count=1 -timeout 14m $(PKGS) && \
	  $(GO) test -count=1 -timeout 10m -run CDNOW $(CDNOW_FULL_PKGS) && \
	  FUZZTIME=$(SHORT_FUZZ) scripts/fuzz.sh

fuzz: ## every fuzz target for FUZZTIME inputs each (default 1000000x)
	@eval "$$(scripts/test-services.sh)" && FUZZTIME=$${FUZZTIME:-1000000x} scripts/fuzz.sh

# make bench: the benchmarks behind docs/performance.md, each -count
# $(BENCH_COUNT) times, printed as a table of medians with the machine.
# BENCH_QUICK=1 is the few-minute form (smaller sizes, one run each). The raw
# go test output is kept in $(BENCH_OUT). The delivery and webhook runs each
# get a process of their own: their peak RSS is the process's, and a run does
# not inherit the previous one's heap and connections. The journey's three
# scenarios at the issue's sizes (100,000 customers through 3 sends, 1,000
# events to 100,000 waiting, 1,000,000 waiting) run once each, in a process
# of their own: together they take about 20 minutes. The full form then
# measures the cost as the work grows, once each: the same delivery on a
# ledger already holding 10,000,000 rows (written first, about 15 minutes),
# and the audience of 10,000,000 customers on PostgreSQL (written once and
# kept in the schema bench_10000000, about 6 GB: drop it after).
BENCH_COUNT ?= 3
BENCH_OUT   ?= bin/bench.txt
ifdef BENCH_QUICK
BENCH_COUNT     := 1
BENCH_ENV       := TIDINGS_BENCH_CUSTOMERS=100000 TIDINGS_BENCH_RECIPIENTS=5000 TIDINGS_BENCH_DURATION=10s TIDINGS_BENCH_JOURNEY_CUSTOMERS=5000 \
                   TIDINGS_BENCH_JOURNEY_SENDS=2000 TIDINGS_BENCH_JOURNEY_WAITING=100000 TIDINGS_BENCH_WAKE_EVENTS=200 \
                   TIDINGS_BENCH_WAKE_WAITING=10000
BENCH_SCALE_ENV := TIDINGS_BENCH_RECIPIENTS=2000
BENCH_IMPORT_ENV := TIDINGS_BENCH_IMPORT_SCALES=1,10
else
BENCH_IMPORT_ENV := TIDINGS_BENCH_IMPORT_SCALES=1,10,100
BENCH_LARGE     := 1
BENCH_ENV       := TIDINGS_BENCH_RECIPIENTS=100000
BENCH_SCALE_ENV := TIDINGS_BENCH_RECIPIENTS=20000
endif
BENCH_GO := $(GO) test -run '^$$' -benchtime 1x -timeout 60m

bench: ## benchmarks (audience 1M with and without an event-history clause, insights refresh 5,000 and 1M, delivery on PostgreSQL, the same on a Redis Cluster, and on the embedded default (SQLite), webhook and events ingest, transactional sends at 500/s, tracked-link redirects, scaling, rules, journey sweep, a 3-send journey end to end, event-to-wake latency, customers waiting, bounce webhook ingest, bounce mail parsing, CDNOW import x1/x10/x100; the delivery on a 10M-row ledger and the audience of 10M customers) as a table of medians; BENCH_QUICK=1 for a short form
	@mkdir -p bin && eval "$$(scripts/test-services.sh)" && { \
	  $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkAudience$$' -count $(BENCH_COUNT) ./worker; \
	  $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkRefreshSynthetic$$' -count $(BENCH_COUNT) ./worker; \
	  for i in $$(seq $(BENCH_COUNT)); do $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkDeliveryEndToEnd$$' -count 1 ./worker; done; \
	  for i in $$(seq $(BENCH_COUNT)); do $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkDeliverySQLite$$' -count 1 ./worker; done; \
	  for i in $$(seq $(BENCH_COUNT)); do $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkDeliveryRedisCluster$$' -count 1 ./worker; done; \
	  for i in $$(seq $(BENCH_COUNT)); do $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkWebhookIngest$$' -count 1 ./triggers; done; \
	  for i in $$(seq $(BENCH_COUNT)); do $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkEventIngest$$' -count 1 ./triggers; done; \
	  for i in $$(seq $(BENCH_COUNT)); do $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkSendAPI$$' -count 1 ./web/admin; done; \
	  for i in $$(seq $(BENCH_COUNT)); do TIDINGS_BENCH_RATE=6000 $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkClickRedirect$$' -count 1 ./web/tracking; done; \
	  $(BENCH_SCALE_ENV) $(BENCH_GO) -bench '^BenchmarkScaling$$' -count $(BENCH_COUNT) ./cmd/tidings/chaos; \
	  $(GO) test -run '^$$' -bench '^BenchmarkEval$$' -benchmem -count $(BENCH_COUNT) ./rules; \
	  $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkJourneySweep$$' -count $(BENCH_COUNT) ./worker; \
	  for i in $$(seq $(BENCH_COUNT)); do $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkFeedbackIngest$$' -count 1 ./web/feedback; done; \
	  $(GO) test -run '^$$' -bench '^BenchmarkParse$$' -count $(BENCH_COUNT) ./channels/email/bounce; \
	  for b in EndToEnd WakeLatency Waiting; do $(BENCH_ENV) $(BENCH_GO) -bench "^BenchmarkJourney$$b\$$" -count 1 ./worker; done; \
	  $(BENCH_IMPORT_ENV) $(BENCH_GO) -bench '^BenchmarkImportCDNOW$$' -count 1 ./store/imports; \
	  if [ -n "$(BENCH_LARGE)" ]; then \
	    TIDINGS_BENCH_LEDGER_ROWS=10000000 $(BENCH_ENV) $(BENCH_GO) -bench '^BenchmarkDeliveryEndToEnd$$' -count 1 ./worker; \
	    TIDINGS_BENCH_CUSTOMERS=10000000 $(BENCH_GO) -bench '^BenchmarkAudience$$/^postgres' -count 1 ./worker; \
	  fi; \
	} 2>&1 | tee $(BENCH_OUT) | $(GO) run ./scripts/benchtable

# make chaos: the reliability drills (cmd/tidings/chaos) in their full form,
# real processes killed and servers restarted; about 35 minutes, most of it
# the 30-minute soak. make test runs their short form.
.PHONY: chaos
chaos: ## reliability drills, full form (kill -9, Redis, PostgreSQL, SMTP 4xx, schedulers, soak); prints a table
	@eval "$$(scripts/test-services.sh)" && \
	  TIDINGS_CHAOS=full $(GO) test -count=1 -timeout 60m -run '^Test' -v ./cmd/tidings/chaos

demo: build ## the whole path on the embedded default (SQLite + in-process Redis)
	$(BIN) demo

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## formatting, vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

clean:
	rm -rf bin tidings-data
