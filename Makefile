GO ?= go

.PHONY: build test run vet fmt bench check

build:
	$(GO) build -o bin/meridian .

test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...
