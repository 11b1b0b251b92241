# The playground's build. Every tool is pinned: buf in proto/tools/go.mod, the
# protoc plugins as tool directives in go.mod, Chromium by the version below.
# `make help` lists the targets.

GO        ?= go
GOROOT    := $(shell $(GO) env GOROOT)
BUF       := $(GO) tool -modfile=proto/tools/go.mod buf
WASM_DIR  := static/wasm
ADDR      ?= 127.0.0.1:8080
# Debian's Chromium for the browser tests; a newer security update of the
# same major is taken when this exact build has left the archive.
CHROMIUM_VERSION ?= 156.0.8078.108-1~deb12u1
# Debian's PostgreSQL for the store tests and benchmarks, which start
# throwaway servers of their own from its binaries; this major when none is
# installed.
POSTGRES_MAJOR ?= 15

.DEFAULT_GOAL := help
.PHONY: help build run test proto proto-check wasm wasm-size chromium postgres python-grpc bench fuzz clean
BENCH_RUN := PLAYGROUND_BIN=$(CURDIR)/bin/playground $(GO) test -run '^$$' ./cmd/playground

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: wasm ## build bin/playground (page and main.wasm embedded) and bin/usercli
	$(GO) build -trimpath -o bin/ ./cmd/...

run: build ## build everything and start the playground on $(ADDR)
	./bin/playground -addr $(ADDR)

test: proto-check wasm chromium postgres python-grpc ## vet, the pb/ drift check, cross-builds, and every test with the race detector, browser tests included
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/...
	GOOS=js GOARCH=wasm $(GO) vet -tags explorer ./wasm/playground
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/...
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/...
	@# The conformance suite's runner and reference server, built once into
	@# Go's cache before the tests of two packages would build them at once.
	$(GO) tool -modfile=proto/tools/go.mod -n connectconformance >/dev/null
	$(GO) tool -modfile=proto/tools/go.mod -n grpcserver >/dev/null
	$(GO) test -race -count=1 -timeout 20m ./...

# gen_pb DIR: generate pb/ under DIR with buf, nothing edited after it. pb/
# holds the messages and the gRPC stubs; pb/browserpb/ the messages of
# user.proto alone, for main.wasm, which must link neither grpc-go nor
# protobuf-go (proto/buf.gen.browser.yaml says why). The only files of pb/
# not generated are tests (*_test.go: pb/browserpb's checks that the two
# copies agree on the wire), which proto-check leaves out.
define gen_pb
	$(BUF) generate --template proto/buf.gen.yaml --output $(1) proto
	$(BUF) generate --template proto/buf.gen.browser.yaml --output $(1) --path proto/user.proto proto
	$(BUF) generate --template proto/conformance.gen.yaml --output $(1) \
		--exclude-path $(CONFORMANCE_PROTO)/connectrpc/conformance/v1/suite.proto $(CONFORMANCE_PROTO)
endef

# The .proto files of Connect's conformance suite, in the module cache at the
# version proto/tools/go.mod pins (go list downloads it when missing); pb/
# conformance/v1 is generated from them, its test-suite format left out.
CONFORMANCE_PROTO = $(shell $(GO) list -modfile=proto/tools/go.mod -f '{{.Module.Dir}}' connectrpc.com/conformance/cmd/connectconformance)/proto

proto: ## regenerate pb/ (messages and stubs), pb/browserpb/ (the page's copy of user.proto's messages) and pb/conformance/v1 (Connect's conformance suite)
	$(call gen_pb,.)

proto-check: ## fail if pb/ differs from what make proto would write
	rm -rf .tmp/proto-check && mkdir -p .tmp/proto-check
	$(call gen_pb,.tmp/proto-check)
	@diff -r -x '*_test.go' pb .tmp/proto-check/pb || { echo "pb/ is stale: run make proto and commit"; exit 1; }

# -gcflags=all=-l: no inlining in the wasm programs. It gzips main.wasm
# 0.27 MB smaller, and the page loads no slower in Chromium (make bench): V8
# inlines the hot calls itself. main.wasm is the cards and the banner;
# explorer.wasm, the same package built with the tag explorer, is the
# explorer, which boot.js loads when it is first shown; protocompiler.wasm
# compiles .proto files given to the explorer, loaded only then. Each is
# served precompressed: zstd (NAME.zst) to browsers that take it, else gzip;
# the page itself fetches NAME.gz and inflates it (index.html's compileWasm).
WASM_BUILD := GOOS=js GOARCH=wasm $(GO) build -trimpath -gcflags=all=-l -ldflags='-s -w'
wasm: ## build static/wasm/main.wasm, explorer.wasm and protocompiler.wasm (+ .gz, .zst) and copy the toolchain's wasm_exec.js
	$(WASM_BUILD) -o $(WASM_DIR)/main.wasm ./wasm/playground
	$(WASM_BUILD) -tags explorer -o $(WASM_DIR)/explorer.wasm ./wasm/playground
	$(WASM_BUILD) -o $(WASM_DIR)/protocompiler.wasm ./wasm/protocompiler
	cp $(GOROOT)/lib/wasm/wasm_exec.js $(WASM_DIR)/wasm_exec.js
	gzip -9 -k -f -n $(WASM_DIR)/main.wasm $(WASM_DIR)/explorer.wasm $(WASM_DIR)/protocompiler.wasm $(WASM_DIR)/wasm_exec.js
	$(GO) run ./static/internal/precompress $(WASM_DIR)/main.wasm $(WASM_DIR)/explorer.wasm $(WASM_DIR)/protocompiler.wasm $(WASM_DIR)/wasm_exec.js

wasm-size: wasm ## print the wasm programs' raw, gzip and zstd sizes; fails when main.wasm is over the budget of 2.00 MB gzip
	@stat -c '%s %n' $(WASM_DIR)/main.wasm $(WASM_DIR)/main.wasm.zst $(WASM_DIR)/explorer.wasm $(WASM_DIR)/explorer.wasm.zst $(WASM_DIR)/explorer.wasm.gz $(WASM_DIR)/main.wasm.gz | \
	awk '{printf "%-30s %9d bytes  %.2f MB\n", $$2, $$1, $$1/1e6; gz = $$1} \
	END {print "budget: main.wasm.gz <= 2.00 MB"; if (gz > 2.0e6) {print "over budget"; exit 1}}'

chromium: ## make sure Debian's Chromium is installed for the browser tests
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "Chromium is missing. Run: sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium"; exit 1; fi; \
	export DEBIAN_FRONTEND=noninteractive; apt-get update -q && \
	{ apt-get install -y -q --no-install-recommends chromium=$(CHROMIUM_VERSION) || apt-get install -y -q --no-install-recommends chromium; }

python-grpc: ## make sure Debian's Python gRPC (python3-grpcio, python3-grpc-tools) is installed: the tests run the tutorial's calls from Python
	@if /usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "Python's gRPC is missing. Run: sudo apt-get update && sudo apt-get install -y --no-install-recommends python3-grpcio python3-grpc-tools"; exit 1; fi; \
	export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q --no-install-recommends python3-grpcio python3-grpc-tools

postgres: ## make sure Debian's PostgreSQL is installed for the store tests (they run throwaway servers of their own)
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ]; then echo "PostgreSQL is missing. Run: sudo apt-get update && sudo apt-get install -y --no-install-recommends postgresql-$(POSTGRES_MAJOR)"; exit 1; fi; \
	export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q --no-install-recommends postgresql-$(POSTGRES_MAJOR)

# Each round runs every benchmark once, so that the rounds interleave ours
# and the baselines: `go test -count N` would run N of one, then N of the
# next, and slow drift of a shared machine would fall on one side.
BENCH_ROUNDS ?= 5
bench: build chromium postgres ## run the benchmarks, servers in their own processes (about 12 minutes), and print the table
	@mkdir -p .tmp/bench && rm -f .tmp/bench/raw.txt
	@for i in $$(seq $(BENCH_ROUNDS)); do \
		echo "round $$i of $(BENCH_ROUNDS)"; \
		$(BENCH_RUN) -bench 'Unary|BidiRoundTrip|ServerStream|ClientStream|AddUser|IdleBridgeStreams|IdleMuxStreams|IdleNativeStreams|Store|GRPCConn' -benchtime 1s -count 1 >> .tmp/bench/raw.txt || exit 1; \
		PLAYGROUND_BIN=$(CURDIR)/bin/playground $(GO) test -run '^$$' -bench 'BareWasm|PageLoad|ExplorerLoad|StreamRender|PageManyStreams' -benchtime 1x -count 1 ./static >> .tmp/bench/raw.txt || exit 1; \
	done
	@echo; $(GO) run ./cmd/benchtable -wasm $(WASM_DIR)/main.wasm .tmp/bench/raw.txt | tee .tmp/bench/table.md

FUZZTIME ?= 30s
fuzz: ## fuzz the client's response parser (frames, header and trailer blocks), the grpc-mux frame reader and the page's messages against pb's, each for $(FUZZTIME)
	$(GO) test -run '^$$' -fuzz FuzzResponseParser -fuzztime $(FUZZTIME) ./wasm/client
	$(GO) test -run '^$$' -fuzz FuzzMuxReader -fuzztime $(FUZZTIME) ./proto/grpcwire
	$(GO) test -run '^$$' -fuzz FuzzWireAgreement -fuzztime $(FUZZTIME) ./pb/browserpb

clean: ## remove build outputs
	rm -rf bin .tmp $(WASM_DIR)/main.wasm* $(WASM_DIR)/explorer.wasm* $(WASM_DIR)/protocompiler.wasm* $(WASM_DIR)/wasm_exec.js*
