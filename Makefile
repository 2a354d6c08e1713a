GO        ?= go
BIN       := bin/allot
# Semver from the newest v* tag (v1.2.3 -> 1.2.3, or 1.2.3-4-gabc between tags); 0.1.0-dev before any.
VERSION   ?= $(or $(shell git describe --tags --match 'v[0-9]*' 2>/dev/null | sed 's/^v//'),0.1.0-dev)
COMMIT    ?= $(or $(shell git rev-parse --short=12 HEAD 2>/dev/null),unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
BUILD_DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)
TEST_FLAGS ?= -race -timeout 20m

.PHONY: build test demo vet fmt clean smoke e2e chaos image compose-up compose-down live doctest prom browser

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/allot

demo: build
	./$(BIN) agent --dev

test:
	$(GO) vet ./...
	$(GO) test $(TEST_FLAGS) ./...

# Every shell block of README.md, run as pasted against the cluster it starts (doctest/).
doctest:
	$(GO) test -tags doctest -count=1 -v -timeout 15m ./doctest/

smoke: build
	bash ../shared/checks/core-smoke.sh

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin

# --- High availability: image, compose cluster, failover suite -------------
IMAGE    ?= allot:dev
COMPOSE  ?= docker-compose
SEEDS    ?= 20
E2E_FLAGS ?= -timeout 25m

# A FROM scratch image around the static binary (no registry needed).
image: build
	rm -rf bin/image && mkdir -p bin/image
	cp $(BIN) deploy/Dockerfile bin/image/
	DOCKER_BUILDKIT=0 docker build -q -t $(IMAGE) bin/image

# Three servers, two clients and four loadgen workloads on a private network
# (deploy/docker-compose.yml). PROJECT, SUBNET (first three octets of a /24) and
# HTTP_PORT let two clusters share a Docker host.
PROJECT   ?= allot
SUBNET    ?= 172.29.10
HTTP_PORT ?= 7480
COMPOSE_ENV = ALLOT_SUBNET=$(SUBNET) ALLOT_HTTP_PORT=$(HTTP_PORT) ALLOT_IMAGE=$(IMAGE)
compose-up: image
	$(COMPOSE_ENV) $(COMPOSE) -f deploy/docker-compose.yml -p $(PROJECT) up -d
	@echo "ps: docker-compose -f deploy/docker-compose.yml -p $(PROJECT) ps;  CLI: ./$(BIN) --http-addr 127.0.0.1:$(HTTP_PORT) status"

compose-down:
	$(COMPOSE_ENV) $(COMPOSE) -f deploy/docker-compose.yml -p $(PROJECT) down -v

# Failover suite: processes on loopback and containers (skipped without Docker).
e2e:
	@mkdir -p e2e/out
	@echo "go test -tags e2e ./e2e/ (full log: e2e/out/e2e.log)"
	@$(GO) test -tags e2e -count=1 -v $(E2E_FLAGS) ./e2e/ > e2e/out/e2e.log 2>&1; rc=$$?; \
	  grep -E '^(=== RUN|\s*--- |PASS|FAIL|ok|panic)|_test.go:' e2e/out/e2e.log; exit $$rc

# Random fault schedules: make chaos SEEDS=20 (E2E_CHAOS_SEED=S to replay one).
chaos:
	@mkdir -p e2e/out
	@echo "go test -tags e2e -run TestChaos ./e2e/ with E2E_CHAOS_SEEDS=$(SEEDS) (full log: e2e/out/chaos.log)"
	@E2E_CHAOS_SEEDS=$(SEEDS) $(GO) test -tags e2e -count=1 -v -timeout 60m -run 'TestChaos' ./e2e/ > e2e/out/chaos.log 2>&1; rc=$$?; \
	  grep -E '^(=== RUN|\s*--- |PASS|FAIL|ok|panic)|_test.go:' e2e/out/chaos.log; exit $$rc

# Live proof (live/DESIGN.md): three servers, two client agents with the Docker
# runtime, 8 loadgen containers replaying real traces, Allot against static limits,
# beside the simulator's prediction. Root and Docker; about 30 minutes. Writes
# live/report.json (scratch in live/out/). LIVE_FLAGS="--days 0.05" for a short run.
LIVE_FLAGS ?=
live: image
	$(GO) run ./cmd/allot-live $(LIVE_FLAGS)

# --- Observability suites (agent/prom_test.go, agent/browser_test.go) -------
# A real Prometheus (Debian `prometheus`) scrapes three in-process servers;
# the checks go through its HTTP API, and promtool checks and unit-tests
# deploy/prometheus/alerts.yml. Skips with a message without the binary.
prom:
	$(GO) test -tags prom -count=1 -v -timeout 10m -run TestPrometheusScrapesCluster ./agent/

# The embedded UI in headless Chromium (Debian `chromium`, driven by
# chromedp); screenshots in e2e/out/ui-*.png. Skips without the browser.
browser:
	@mkdir -p e2e/out
	$(GO) test -tags browser -count=1 -v -timeout 10m -run TestUIInChromium ./agent/
