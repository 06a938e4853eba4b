# zkfence: `make demo` shows a failover, `make test` runs every test,
# `make bench` measures. Each installs what it needs first.

GO      ?= go
BIN     := bin/zkfence
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Integration tests start JVMs and databases: give them room on 2 cores.
TESTFLAGS ?= -race -timeout 25m

.PHONY: all build deps test unit demo bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/zkfence

deps:
	./scripts/install-deps.sh
	$(GO) mod download

test: deps
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...

# Unit tests only: no ZooKeeper, no databases.
unit:
	$(GO) test -short ./...

demo: deps build
	./scripts/demo.sh

bench: deps build
	$(GO) run ./bench -zkfence $(BIN) -out bench/results/latest.md
	@echo >> bench/results/latest.md
	$(GO) run ./supervise/testdata/bench -md | tee -a bench/results/latest.md

# The container images, built from Debian's archive without a registry
# (internal/images): zkfence-local/{postgres,mariadb,zookeeper}:latest.
.PHONY: images
images: deps
	$(GO) run ./internal/images/cmd/zkfence-images

clean:
	rm -rf bin bench/results
