# aws-oidc: every command the README names. `make help` lists them.

SHELL := /bin/bash
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
DIST := dist
AMD64 := x86_64-unknown-linux-musl
ARM64 := aarch64-unknown-linux-musl
# Release builds use their own target dir and remap every build path, so the
# binaries do not depend on where the checkout or cargo's home is.
RELEASE_TARGET_DIR := target/dist-build
CARGO_HOME ?= $(HOME)/.cargo
REMAP := --remap-path-prefix=$(CURDIR)=/build --remap-path-prefix=$(CARGO_HOME)=/cargo
export SOURCE_DATE_EPOCH := 0

# ring compiles C: gcc for amd64 musl; clang, llvm-ar and rust-lld for arm64.
CROSS_ENV := CC_x86_64_unknown_linux_musl=gcc \
	CC_aarch64_unknown_linux_musl=clang AR_aarch64_unknown_linux_musl=llvm-ar \
	CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld

IMAGE ?= aws-oidc:$(VERSION)
BUILDAH := buildah --storage-driver vfs

.PHONY: help deps targets build demo test test-unit test-release lint release reproducible image image-archive bench fuzz clean

help:
	@echo "make demo          one whole exchange against the local STS stand-in"
	@echo "make test          every test: unit, integration, and the release artifacts"
	@echo "make lint          cargo fmt --check and clippy -D warnings"
	@echo "make build         release binary for this machine (target/release/aws-oidc)"
	@echo "make release       static musl binaries, SHA256SUMS and SBOM in dist/"
	@echo "make reproducible  build the release twice and compare the bytes"
	@echo "make image         the FROM scratch image (docker buildx, else buildah)"
	@echo "make image-archive OCI archive of the multi-arch image for air-gapped mirrors"
	@echo "make bench         size, CPU and memory against the bare client and curl"
	@echo "make fuzz          run each fuzz target (FUZZ_SECONDS each)"

build:
	cargo build --release --locked

demo: build
	cargo build --release --locked --example demo
	target/release/examples/demo target/release/aws-oidc

# Installs the Debian packages, rustup targets and botocore the tests use.
deps:
	scripts/deps.sh

test: deps
	$(MAKE) test-unit
	$(MAKE) test-release

test-unit:
	cargo test --locked

lint:
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings

targets: deps

$(DIST):
	mkdir -p $(DIST)

release: targets | $(DIST)
	$(CROSS_ENV) RUSTFLAGS="$(REMAP)" CARGO_TARGET_DIR=$(RELEASE_TARGET_DIR) \
		cargo build --release --locked --bin aws-oidc --target $(AMD64) --target $(ARM64)
	cp $(RELEASE_TARGET_DIR)/$(AMD64)/release/aws-oidc $(DIST)/aws-oidc-linux-amd64
	cp $(RELEASE_TARGET_DIR)/$(ARM64)/release/aws-oidc $(DIST)/aws-oidc-linux-arm64
	python3 scripts/sbom.py $(AMD64) > $(DIST)/aws-oidc-linux-amd64.cdx.json
	python3 scripts/sbom.py $(ARM64) > $(DIST)/aws-oidc-linux-arm64.cdx.json
	cd $(DIST) && sha256sum aws-oidc-linux-amd64 aws-oidc-linux-arm64 *.cdx.json > SHA256SUMS
	@cat $(DIST)/SHA256SUMS
	@ls -l $(DIST)/aws-oidc-linux-*[a-z0-9]

# Two clean builds in two different folders must give the same bytes.
reproducible: targets
	rm -rf target/repro-a target/repro-b
	for d in a b; do \
		$(CROSS_ENV) RUSTFLAGS="$(REMAP)" CARGO_TARGET_DIR=target/repro-$$d \
		cargo build --release --locked --bin aws-oidc --target $(AMD64) --target $(ARM64) || exit 1; \
	done
	for t in $(AMD64) $(ARM64); do \
		a=$$(sha256sum < target/repro-a/$$t/release/aws-oidc); b=$$(sha256sum < target/repro-b/$$t/release/aws-oidc); \
		echo "$$t: $$a / $$b"; [ "$$a" = "$$b" ] || { echo "not reproducible: $$t"; exit 1; }; \
	done
	@echo "reproducible: both targets built twice to identical bytes"

# The artifacts where they will run: chroot (empty root), qemu (arm64), and
# the image under buildah; see tests/release.rs.
test-release: release image
	cargo build --locked --example sts-standin
	AWS_OIDC_DIST=$(CURDIR)/$(DIST) AWS_OIDC_IMAGE=$(IMAGE) cargo test --locked --test release -- --ignored --test-threads 1

image: release
	@if command -v docker >/dev/null && docker buildx version >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
		docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=$(VERSION) -f Dockerfile.scratch -t $(IMAGE) $(DIST); \
	else \
		$(BUILDAH) rmi -f $(IMAGE) $(IMAGE)-amd64 $(IMAGE)-arm64 >/dev/null 2>&1; \
		$(BUILDAH) manifest rm $(IMAGE) >/dev/null 2>&1; \
		for arch in amd64 arm64; do \
			$(BUILDAH) bud --isolation chroot --platform linux/$$arch --build-arg TARGETARCH=$$arch \
				--build-arg VERSION=$(VERSION) --timestamp 0 -f Dockerfile.scratch -t $(IMAGE)-$$arch $(DIST) || exit 1; \
		done; \
		$(BUILDAH) manifest create $(IMAGE) && \
		$(BUILDAH) manifest add $(IMAGE) containers-storage:localhost/$(IMAGE)-amd64 && \
		$(BUILDAH) manifest add $(IMAGE) containers-storage:localhost/$(IMAGE)-arm64; \
	fi

image-archive: image
	rm -f $(DIST)/aws-oidc-image.oci.tar
	@if command -v docker >/dev/null && docker buildx version >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
		docker buildx build --platform linux/amd64,linux/arm64 --build-arg VERSION=$(VERSION) -f Dockerfile.scratch \
			--output type=oci,dest=$(DIST)/aws-oidc-image.oci.tar $(DIST); \
	else \
		$(BUILDAH) manifest push --all --format oci $(IMAGE) oci-archive:$(DIST)/aws-oidc-image.oci.tar:$(IMAGE); \
	fi
	cd $(DIST) && sha256sum aws-oidc-image.oci.tar | tee -a SHA256SUMS

bench: release
	cargo build --release --locked --example sts-standin --example bare-client
	python3 scripts/bench.py

FUZZ_SECONDS ?= 60
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	cargo clean
	rm -rf $(DIST)
