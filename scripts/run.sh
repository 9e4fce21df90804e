#!/usr/bin/env bash
# Set up, build (or update) the index over sources/, and start the chat on http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
rag index
exec python ui.py "$@"
