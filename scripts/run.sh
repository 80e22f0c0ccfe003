#!/usr/bin/env bash
# Set up the runtime virtualenv if needed, then run the main job on embedded defaults:
#   scripts/run.sh                  the Slack bot (SQLite store, model in-process); needs
#                                   SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN)
#   scripts/run.sh service [...]    the shared model service instead (python -m service ...)
#   scripts/run.sh bot report ...   any python -m bot subcommand
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh runtime
role=bot
case "${1:-}" in
  service|bot) role="$1"; shift ;;
esac
exec .venv/bin/python -m "$role" "$@"
