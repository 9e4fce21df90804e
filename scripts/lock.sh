#!/usr/bin/env bash
# Write scripts/constraints.txt from ./.venv: the exact versions of every package that setup.sh and test.sh
# install (torch, llama-cpp-python and the project itself are pinned or built apart, and left out).
# Run it after a deliberate upgrade (`pip install -U -e ".[st,default-llm,dev,server,milvus]"`) that the
# whole test suite passed with.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Versions the whole test suite passed with (scripts/lock.sh wrote this from .venv on $(date -u +%F))."
  echo "# setup.sh and test.sh install with -c this file, so a new release on the registry cannot change a"
  echo "# fresh machine's install (2026-12-06: httpx2 2.17.0 broke the OpenAI client of the server backend)."
  .venv/bin/pip freeze --exclude-editable | grep -viE '^(torch|llama[-_]cpp[-_]python|rag-news)( |=|@)'
} > scripts/constraints.txt
echo "scripts/constraints.txt: $(grep -vc '^#' scripts/constraints.txt) packages"
