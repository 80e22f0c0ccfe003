#!/usr/bin/env bash
# Set up the dev virtualenv if needed, then run the linters and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/python -m pylint --rcfile=pyproject.toml bot handlers service bench tests
.venv/bin/python -m pytest "$@"
