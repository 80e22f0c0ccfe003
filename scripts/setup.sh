#!/usr/bin/env bash
# Create .venv if missing and install the pinned requirements (again only when they change).
# Usage: scripts/setup.sh [runtime|dev]   (default: dev)
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-dev}"
req=requirements.txt
[ "$kind" = dev ] && req=requirements-dev.txt
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null 2>&1 || python=python3
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
# torch: PyPI's wheel of torch==2.13.0 is the CUDA build (gigabytes of nvidia wheels). Where
# PyTorch's CPU index answers within a few seconds, pip takes the CPU build (2.13.0+cpu) from it;
# where only PyPI can be reached, pip goes on without it (a local wheel, or PyPI's build).
use_torch_cpu_index() {
  local index=https://download.pytorch.org/whl/cpu
  [ -z "${PIP_EXTRA_INDEX_URL:-}" ] || return 0
  if "$python" - "$index/torch/" 2>/dev/null <<'PY'
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=3).close()
PY
  then
    export PIP_EXTRA_INDEX_URL="$index"
  fi
}
stamp=".venv/.installed-$kind"
want=$(cat requirements.txt "$req" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing $req into .venv ..."
  use_torch_cpu_index
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
