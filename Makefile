# Meridian's build. `make check` is the gate: formatting, vet, tests.

GO       ?= go
BIN      ?= bin/meridian
# The race detector needs cgo and a C compiler; without them (a fresh
# machine with Go only) tests run without it, and `make test` says so.
RACE     ?= $(shell [ "$$($(GO) env CGO_ENABLED)" = 1 ] && command -v "$$($(GO) env CC)" >/dev/null 2>&1 && echo -race)
# Test flags: -race on every package (the suite fits in a few minutes on
# 2 cores); `go test` also runs every Fuzz* function over its seed corpus.
TESTFLAGS ?= -count=1 $(RACE) -shuffle=on -timeout 10m
# Packages `make test` runs.
PKG      ?= ./...
# `make run-single` settings (`make run` uses fixed ports: see
# scripts/run-region.sh).
PORT     ?= 6379
HTTP     ?= 127.0.0.1:9121
# Data of `make run`'s regions: $(DATA)/east/n1..n3 and $(DATA)/west/n1..n3.
DATA     ?= ./data

.PHONY: build run run-single test vet fmt fmt-check check bench clean proto jepsen

build:
	$(GO) build -o $(BIN) .

# Two local 3-node regions on loopback, linked: east (RESP 6379-6381)
# and west (RESP 6479-6481); Ctrl-C stops them.
run: build
	MERIDIAN=$(BIN) DATA=$(DATA) scripts/run-region.sh

# One node without Raft (data in memory).
run-single: build
	$(BIN) server --bind 127.0.0.1 --port $(PORT) --http $(HTTP)

vet:
	$(GO) vet ./...

test: vet
	@[ -n "$(RACE)" ] || echo "make test: no C compiler or cgo: running without -race (apt-get install gcc)"
	$(GO) test $(TESTFLAGS) $(PKG)

fmt:
	gofmt -w .

fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

check: fmt-check test

bench: build
	MERIDIAN=$(BIN) scripts/bench.sh
	MERIDIAN=$(BIN) scripts/bench-region.sh
	# Two linked 3-node regions: throughput and replication lag, no delay and 50 ms round trip.
	$(GO) test -run XXX -bench LinkedRegions -benchtime 20000x ./regional/

clean:
	rm -rf bin

# Regenerates the gRPC code of interregion (committed). Needs protoc
# (apt-get install -y protobuf-compiler) and the Go plugins below.
proto:
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	$(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc -I interregion/proto \
	  --go_out=interregion/interregionpb --go_opt=paths=source_relative \
	  --go-grpc_out=interregion/interregionpb --go-grpc_opt=paths=source_relative \
	  interregion/proto/interregion.proto

# The fault tests at full length (root, network namespaces): every
# workload under every nemesis kind alone and without faults, and two
# linked regions under every link fault in turn, for JEPSEN_TIME each.
# `make test` runs them short: each workload once under every kind in
# turn, 3 s a fault (-jepsen.nemesis=short, the default).
JEPSEN_TIME ?= 60s
jepsen:
	$(GO) test -count=1 -v -timeout 4h ./tests/jepsen -run TestJepsen -jepsen.time=$(JEPSEN_TIME) \
	  -jepsen.nemesis=each -jepsen.regions-nemesis=all
