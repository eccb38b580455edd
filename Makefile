# Tidings: make targets. `make test` is what CI runs.
GO        ?= go
BIN       := bin/tidings
PKGS      := ./...
SHORT_FUZZ ?= 10s

.PHONY: build test bench demo lint clean

build: ## build bin/tidings
	$(GO) build -o $(BIN) ./cmd/tidings

test: ## vet, then every test with -race against SQLite files, PostgreSQL and Redis (found or started)
	@eval "$$(scripts/test-services.sh)" && \
	  echo "tests use $$TIDINGS_TEST_DATABASE_URL and $$TIDINGS_TEST_REDIS_URL" && \
	  $(GO) vet $(PKGS) && \
	  $(GO) test -race -count=1 -timeout 14m $(PKGS)

bench: ## benchmarks that print figures (long; not part of test)
	@eval "$$(scripts/test-services.sh)" && \
	  $(GO) test -run '^$$' -bench . -benchmem -benchtime 3x -timeout 60m $(PKGS)

demo: build ## the whole path on the embedded default (SQLite + in-process Redis)
	$(BIN) demo

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint: ## formatting, vet and staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)

clean:
	rm -rf bin tidings-data
