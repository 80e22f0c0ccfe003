#!/usr/bin/env bash
# Mutation testing with mutmut ([tool.mutmut] in pyproject.toml), one module at a time, then a
# table: module, mutants, killed, survived, timeout, score. Not run in CI: too slow for 2 cores
# (see README, "Mutation testing").
#   scripts/mutation.sh                          every module of [tool.mutmut] only_mutate
#   scripts/mutation.sh bot/reports/model.py     only these (paths or dotted names)
#   scripts/mutation.sh --survivors [module...]  retest only the last run's survivors (after
#                                                adding tests)
#   scripts/mutation.sh --table [module...]      the table of the last runs, running nothing
# MUTATION_JOBS (default 2): mutants tested at once; MUTATION_TIMEOUT (default 3600): seconds
# per module. Results are kept in mutants/ (git-ignored) until the next run of that module.
set -euo pipefail
cd "$(dirname "$0")/.."
python=.venv/bin/python
"$python" -c "import mutmut" 2>/dev/null || scripts/setup.sh dev
# The selection never needs the Firestore emulator, and must not reach one that is running.
unset FIRESTORE_EMULATOR_HOST
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mode=all
if [ "${1:-}" = --table ] || [ "${1:-}" = --survivors ]; then
  mode="${1#--}"
  shift
fi
mapfile -t modules < <("$python" scripts/mutation_table.py --modules "$@")
mkdir -p mutants
if [ "$mode" != table ]; then
  for module in "${modules[@]}"; do
    name="${module%.py}"
    name="${name//\//.}"
    if [ "$mode" = survivors ]; then
      mapfile -t mutants < <("$python" scripts/mutation_table.py --survivors "$module")
      [ "${#mutants[@]}" -gt 0 ] || continue
    else
      mutants=("$name.*")
    fi
    echo "== mutmut: $module (${#mutants[@]} name(s))"
    status=0
    timeout "${MUTATION_TIMEOUT:-3600}" "$python" -m mutmut run --max-children "${MUTATION_JOBS:-2}" \
      "${mutants[@]}" >"mutants/last-run-$name.log" 2>&1 || status=$?
    [ "$status" = 0 ] || echo "   mutmut exited $status (log: mutants/last-run-$name.log)"
  done
fi
"$python" scripts/mutation_table.py "${modules[@]}"
