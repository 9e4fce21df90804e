#!/usr/bin/env bash
# Optional: build llama.cpp's own OpenAI-compatible server (`llama-server`: parallel slots, continuous
# batching) from the llama.cpp sources vendored in the llama-cpp-python sdist, with the same CPU flags
# as the wheel that scripts/setup.sh builds. About 6-10 minutes on 2 cores, once per machine; the
# binary is cached and copied to .venv/bin/llama-server.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/llama_flags.sh
. scripts/llama_flags.sh
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
key=$(printf '%s %s' "$LLAMA_VERSION" "$LLAMA_CMAKE_ARGS" | sha1sum | cut -c1-12)
bin="$RAG_CACHE/llama-server-$key/llama-server"
if [ ! -x "$bin" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  log "fetching the llama-cpp-python $LLAMA_VERSION sdist (llama.cpp sources)"
  python3 -m pip download -q --no-deps --no-binary :all: -d "$work" "llama-cpp-python==$LLAMA_VERSION"
  tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
  src=$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)
  log "building llama-server (once per machine, ~6-10 min)"
  # shellcheck disable=SC2086
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_SERVER=ON -DLLAMA_CURL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF $LLAMA_CMAKE_ARGS >/dev/null
  cmake --build "$work/build" --target llama-server -j "$(nproc)" >/dev/null
  mkdir -p "$(dirname "$bin").partial"
  cp "$work/build/bin/llama-server" "$(dirname "$bin").partial/"
  rm -rf "$(dirname "$bin")"; mv "$(dirname "$bin").partial" "$(dirname "$bin")"
fi
if [ -d .venv/bin ]; then cp "$bin" .venv/bin/llama-server; echo ".venv/bin/llama-server"; else echo "$bin"; fi
