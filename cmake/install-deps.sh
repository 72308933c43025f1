#!/usr/bin/env bash
# Installs the Debian 12 packages cppd needs to build and test, and only those that are missing.
# Idempotent and quiet when everything is already there. Usage: cmake/install-deps.sh [--tests | --fuzz]
set -euo pipefail

build_packages=(g++ cmake make ninja-build pkg-config libuv1-dev libboost-dev libfmt-dev libcxxopts-dev catch2 libtomlplusplus-dev libhttp-parser-dev libcrypt-dev)
# Real clients and tools the integration tests drive.
test_packages=(curl netcat-openbsd logrotate python3 procps util-linux systemd bash-completion dpkg-dev valgrind lftp slowhttptest strace wrk clang-14 python3-prometheus-client python3-yaml)
# The libFuzzer targets in tests/fuzz (a separate clang project, so the g++ build is untouched).
fuzz_packages=(clang-14 libfuzzer-14-dev)
# What tests/bench compares cppd with and drives it with (web_bench, workers_bench): nginx, wrk, taskset.
bench_packages=(nginx wrk util-linux)

wanted=("${build_packages[@]}")
case "${1:-}" in
  --tests) wanted+=("${test_packages[@]}") ;;
  --fuzz) wanted+=("${fuzz_packages[@]}") ;;
  --bench) wanted+=("${bench_packages[@]}") ;;
esac

missing=()
for pkg in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$pkg")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 77; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
