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
stamp=".venv/.installed-$kind"
want=$(cat requirements.txt "$req" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing $req into .venv ..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" > "$stamp"
fi
