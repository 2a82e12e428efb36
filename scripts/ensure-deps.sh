#!/usr/bin/env bash
# Installs what Osusume needs to build when it is missing: OpenBLAS (BLAS + LAPACK) on Linux.
# As root it installs with apt-get; otherwise it prints exactly what to install.
set -euo pipefail
if [ "$(uname -s)" != "Linux" ]; then exit 0; fi   # Apple platforms use Accelerate.
if ! command -v swift >/dev/null 2>&1; then
  echo "error: swift not found on PATH; install Swift 6.1 or newer (https://www.swift.org/install/)" >&2
  exit 1
fi
missing=()
if ! ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so '; then
  # The unversioned .so (linker name) comes with the -dev package.
  [ -e /usr/lib/x86_64-linux-gnu/libopenblas.so ] || [ -e /usr/lib/aarch64-linux-gnu/libopenblas.so ] || missing+=(libopenblas-dev)
fi
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} …" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "error: missing ${missing[*]}. Install it with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
