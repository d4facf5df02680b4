#!/usr/bin/env bash
# Installs what `make test` and `make release` need, where it is missing:
# the musl targets, a C toolchain for ring on both targets, qemu for the
# arm64 binary, buildah/skopeo for the image, curl for the bench, and
# botocore (the credential_process consumer in tests/cli.rs).
set -euo pipefail

need=()
command -v gcc >/dev/null || need+=(gcc)
command -v clang >/dev/null || need+=(clang)
command -v llvm-ar >/dev/null || need+=(llvm)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v buildah >/dev/null || need+=(buildah)
command -v skopeo >/dev/null || need+=(skopeo)
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${need[*]}; install them (sudo apt-get install ${need[*]}) or run as root" >&2
    exit 1
  fi
  echo "installing Debian packages: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

installed=$(rustup target list --installed)
for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done

if ! python3 -c 'import botocore' 2>/dev/null; then
  echo "installing botocore (pip)"
  python3 -m pip install -q botocore 2>/dev/null || python3 -m pip install -q --break-system-packages botocore
fi
