#!/usr/bin/env bash
# Set up the dev virtualenv if needed, then run the linters and the whole test suite.
#   scripts/test.sh              pylint, hadolint + actionlint, then every test (what CI runs)
#   scripts/test.sh unit         the fast tests alone (tests/unit: pure modules, seconds)
# Extra arguments go to pytest (e.g. scripts/test.sh -k bot -x, scripts/test.sh unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [ "${1:-}" = unit ]; then
  shift
  exec .venv/bin/python -m pytest tests/unit "$@"
fi
echo "== pylint"
.venv/bin/python -m pylint --jobs=0 --rcfile=pyproject.toml bot handlers service bench tests scripts/*.py  # one process per core
echo "== hadolint + actionlint"
scripts/lint.sh
echo "== pytest"
.venv/bin/python -m pytest "$@"
