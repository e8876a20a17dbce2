# niod — build, test, demo, install. Run `make help` for the targets.

GO        ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
PREFIX    ?= /usr/local
DESTDIR   ?=
BINDIR    ?= $(PREFIX)/bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
# An execution count, not a duration: a duration -fuzztime races Go's
# fuzzing coordinator at its deadline (go.dev/issue/75804, fixed in Go 1.27)
# and fails with "context deadline exceeded" on a loaded machine.
FUZZTIME  ?= 300000x
export CGO_ENABLED = 0
# The Go that builds and tests niod: go1.27.3 (the go command fetches it
# from the module proxy once). Go 1.26.8's crypto/tls and crypto/x509 have
# vulnerabilities niod's code reaches (make vulncheck says which).
export GOTOOLCHAIN ?= go1.27.3
export PATH := $(dir $(GO)):$(PATH)

BIN       := bin/niod
# make container-image: the engine, the image's name, its Python base.
ENGINE    ?= podman
IMAGE     ?= localhost/niod:latest
PYTHON_IMAGE ?=
LDFLAGS   := -s -w -X main.version=$(VERSION)
DEMO_ROOT := examples/project

.PHONY: all build test unit e2e fuzz lint demo install uninstall bench clean help container-image

all: build

help:
	@echo "make build    build bin/niod (static, CGO_ENABLED=0, trimmed)"
	@echo "make test     lint, unit tests, end-to-end tests (systemd, container, package), a short fuzz run, vulncheck"
	@echo "make demo     run niod on examples/project"
	@echo "make install  install niod into \$$(DESTDIR)\$$(BINDIR) (PREFIX=$(PREFIX))"
	@echo "make bench    benchmarks side by side, one table: settings (10k, 100k keys) vs python3 configparser; supervision vs tini, dumb-init, supervisord, runsv and Go floors; in a container (as root)"
	@echo "make vulncheck   govulncheck on the module, offline (part of make test)"
	@echo "make man      build/niod.1 from the binary's own flag definitions"
	@echo "make deb      dist/niod_VERSION_ARCH.deb: binary, units, sysusers/tmpfiles, man page, completions"
	@echo "make container-image   the image of deploy/docker with bin/niod (ENGINE=podman|docker, IMAGE=$(IMAGE), PYTHON_IMAGE=...)"

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/niod

# The suites that need root or a real systemd skip elsewhere; the skips are
# listed at the end, one line each (with CI=true a skip fails the run).
test:
	@skipped=$$(mktemp); NIOD_SKIPPED=$$skipped $(MAKE) --no-print-directory lint unit e2e fuzz vulncheck; status=$$?; \
	if [ -s "$$skipped" ]; then echo; echo "make test skipped:"; cat "$$skipped"; fi; \
	rm -f "$$skipped"; exit $$status

lint:
	@out=$$(gofmt -l cmd internal test); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

unit:
	GO=$(GO) test/gotest.sh ./internal/... ./cmd/...
	GO=$(GO) test/machine-coverage.sh
	test/pyunit.sh examples/runtime

e2e:
	GO=$(GO) test/gotest.sh ./test/...

fuzz:
	$(GO) test -run=NONE -fuzz='^FuzzParse$$' -fuzztime=$(FUZZTIME) ./internal/config/
	$(GO) test -run=NONE -fuzz='^FuzzResolve$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./internal/config/
	$(GO) test -run=NONE -fuzz='^FuzzParseResponse$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=2s ./internal/health/

# make vulncheck: govulncheck on the module, against a database built from
# golang.org/x/vulndb as the module proxy serves it (vuln.go.dev cannot be
# reached); first the same pipeline on a throwaway module must catch a
# called vulnerable symbol. Pinned versions: tools/versions.env.
include tools/versions.env
.PHONY: vulncheck
vulncheck:
	GO=$(GO) test/gotest.sh ./tools/...
	GO=$(GO) GOVULNCHECK_VERSION=$(GOVULNCHECK_VERSION) VULNDB_VERSION=$(VULNDB_VERSION) test/vulncheck_test.sh
	GO=$(GO) GOVULNCHECK_VERSION=$(GOVULNCHECK_VERSION) VULNDB_VERSION=$(VULNDB_VERSION) test/vulncheck.sh

demo: build
	@examples/demo.sh $(BIN)

# make man: niod(1) as bin/niod prints it, from its own command and flag
# definitions; make install generates the shell completions the same way.
MANDIR    ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
.PHONY: man
man: build
	@mkdir -p build
	$(BIN) help --man > build/niod.1.tmp && mv build/niod.1.tmp build/niod.1

install: build man
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/niod
	install -m 644 build/niod.1 $(DESTDIR)$(MANDIR)/man1/niod.1
	$(BIN) completion bash > build/niod.bash && install -m 644 build/niod.bash $(DESTDIR)$(BASHCOMPDIR)/niod
	$(BIN) completion zsh > build/_niod && install -m 644 build/_niod $(DESTDIR)$(ZSHCOMPDIR)/_niod

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/niod $(DESTDIR)$(MANDIR)/man1/niod.1 $(DESTDIR)$(BASHCOMPDIR)/niod $(DESTDIR)$(ZSHCOMPDIR)/_niod

# config-merge.sh's medians join supervise.sh's table, which is printed
# again last: one table of niod beside its peers and floors.
bench: build
	$(GO) test -run=NONE -bench=. -benchmem ./internal/config/
	$(GO) test -run=NONE -bench=Redactor -benchmem ./internal/logging/
	@tmp=$$(mktemp -d /tmp/niod-bench.XXXXXX); trap 'rm -rf "$$tmp"' EXIT; status=0; \
	echo "bench/config-merge.sh --json $$tmp/config.json $(BIN)"; \
	bench/config-merge.sh --json $$tmp/config.json $(BIN) || status=1; \
	echo "bench/supervise.sh $(BIN) --config-json $$tmp/config.json --markdown $$tmp/table.md"; \
	bench/supervise.sh $(BIN) --config-json $$tmp/config.json --markdown $$tmp/table.md || status=1; \
	if [ "$$(id -u)" -eq 0 ]; then bench/container.sh $(BIN) || status=1; \
	else echo "bench/container.sh skipped: needs root (rootful podman)"; fi; \
	if [ -s "$$tmp/table.md" ]; then printf '\n## make bench: niod side by side\n\n'; cat "$$tmp/table.md"; fi; \
	exit $$status

# deploy/docker/Dockerfile's prebuilt target: bin/niod copied in, no Go
# image needed. podman needs --format docker to keep the HEALTHCHECK.
container-image: build
	$(ENGINE) build $(if $(filter podman,$(notdir $(ENGINE))),--format docker --ignorefile deploy/docker/Dockerfile.dockerignore) \
		-f deploy/docker/Dockerfile --target prebuilt $(if $(PYTHON_IMAGE),--build-arg PYTHON_IMAGE=$(PYTHON_IMAGE)) -t $(IMAGE) .

# make deb: $(DIST)/niod_VERSION_ARCH.deb from $(BIN), built with dpkg-deb
# (packaging/build-deb.sh says what goes in and why dpkg-deb).
DIST ?= dist
.PHONY: deb
deb: build
	packaging/build-deb.sh --bin $(BIN) --out $(DIST)

clean:
	rm -rf bin build $(DIST)
