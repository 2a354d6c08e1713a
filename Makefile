GO        ?= go
BIN       := bin/allot
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
TEST_FLAGS ?= -race -timeout 20m

.PHONY: build test demo vet fmt clean smoke e2e

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/allot

demo: build
	./$(BIN) agent --dev

test:
	$(GO) vet ./...
	$(GO) test $(TEST_FLAGS) ./...

smoke: build
	bash ../shared/checks/core-smoke.sh

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
