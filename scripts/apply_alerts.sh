#!/usr/bin/env bash
# Create or update the model-drift alert policy (deploy/monitoring/model-drift-policy.yaml).
#   scripts/apply_alerts.sh PROJECT_ID [NOTIFICATION_CHANNEL ...]
# NOTIFICATION_CHANNEL: projects/PROJECT_ID/notificationChannels/ID (gcloud beta monitoring channels list).
# Running it again updates the policy with the same display name instead of adding a second one.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  echo "usage: $0 PROJECT_ID [NOTIFICATION_CHANNEL ...]" >&2
  exit 2
fi
project="$1"; shift
policy=deploy/monitoring/model-drift-policy.yaml
name="$(sed -n 's/^displayName: "\(.*\)"$/\1/p' "$policy")"
channels=()
if [ $# -gt 0 ]; then
  channels=(--notification-channels="$(IFS=,; echo "$*")")
fi
existing="$(gcloud alpha monitoring policies list --project "$project" \
  --filter="displayName=\"${name}\"" --format='value(name)' | head -n 1)"
if [ -n "$existing" ]; then
  gcloud alpha monitoring policies update "$existing" --project "$project" \
    --policy-from-file "$policy" "${channels[@]}"
else
  gcloud alpha monitoring policies create --project "$project" \
    --policy-from-file "$policy" "${channels[@]}"
fi
