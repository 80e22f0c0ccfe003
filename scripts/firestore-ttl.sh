#!/usr/bin/env bash
# TTL policies on the field expires_at of every collection group that carries one, so that
# Firestore deletes expired records by itself (within about a day of expiry). Run once per
# database, by a project owner, with gcloud configured for the project:
#   scripts/firestore-ttl.sh [DATABASE]        (default: "(default)")
# Kinds (README "What is stored"): tallies (months, days), threads, alerts, event_claims,
# digest_claims, write markers (tally_writes), OAuth install links (oauth_states). Settings have
# no expires_at: kept while installed.
set -euo pipefail

database="${1:-(default)}"
for group in months days threads alerts event_claims digest_claims tally_writes oauth_states; do
  gcloud firestore fields ttls update expires_at --collection-group="$group" \
    --database="$database" --enable-ttl --async
done
gcloud firestore fields ttls list --database="$database"
