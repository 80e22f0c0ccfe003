#!/usr/bin/env bash
# Set up the runtime virtualenv if needed, then run the main job on embedded defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh runtime
exec .venv/bin/python -m service "$@"
