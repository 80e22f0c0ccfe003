#!/usr/bin/env bash
# Smoke test of a built image, both roles as Cloud Run runs them (CI runs it on every pull request):
#   scripts/smoke_image.sh IMAGE
# - model service: /readyz within 5 minutes, /healthz names the model revision, one POST /v1/classify,
#   and the build-time evaluation file ($SENTIMENT_EVALUATION_FILE) holds the figures of the eval set;
# - bot: starts with dummy secrets against scripts/stub_slack.py (run from the same image, on the
#   same Docker network), calls auth.test on it, answers /healthz, refuses an unsigned request (401).
# Needs Docker and curl; containers and network are removed on exit.
set -euo pipefail
image="${1:?usage: $0 IMAGE}"
name="sentimento-smoke-$$"
token="ci-model-service-token"

cleanup() {
  docker rm -f "${name}-service" "${name}-bot" "${name}-slack" >/dev/null 2>&1 || true
  docker network rm "$name" >/dev/null 2>&1 || true
}
trap cleanup EXIT

wait_for() {  # wait_for URL SECONDS CONTAINER
  local url="$1" deadline=$((SECONDS + $2)) container="$3"
  until curl -fsS -o /dev/null --max-time 5 "$url"; do
    if [ "$SECONDS" -ge "$deadline" ] \
       || [ "$(docker inspect -f '{{.State.Running}}' "$container")" != true ]; then
      echo "${url} did not answer 200; logs of ${container}:" >&2
      docker logs "$container" >&2 || true
      return 1
    fi
    sleep 2
  done
  echo "${url}: 200"
}

docker network create "$name" >/dev/null

echo "--- model service (ROLE=service)"
docker run -d --name "${name}-service" --network "$name" -p 127.0.0.1:18080:8080 \
  -e MODEL_SERVICE_TOKEN="$token" "$image" >/dev/null
wait_for http://127.0.0.1:18080/readyz 300 "${name}-service"
curl -fsS http://127.0.0.1:18080/healthz | python3 -c '
import json, sys
body = json.load(sys.stdin)
assert body["ready"] and body["backend"] == "transformers" and body["revision"], body
print("healthz:", body)'
curl -fsS -X POST http://127.0.0.1:18080/v1/classify -H "Authorization: Bearer ${token}" \
  -H 'Content-Type: application/json' -d '{"texts": ["Deploy feito, parabéns ao time!"]}' \
  | python3 -c '
import json, sys
body = json.load(sys.stdin)
assert [r["label"] in ("negative", "neutral", "positive") for r in body["results"]] == [True], body
print("classify:", body["model"], body["revision"], body["results"][0]["label"])'
docker exec "${name}-service" python -c '
import json, os
figures = json.load(open(os.environ["SENTIMENT_EVALUATION_FILE"], encoding="utf-8"))
assert figures["n"] >= 300 and 0 <= figures["macro_f1"] <= 1, figures
print("evaluation at build time: macro-F1", figures["macro_f1"], "on", figures["n"], "messages")'

echo "--- bot (ROLE=bot) against a stub Slack"
docker run -d --name "${name}-slack" --network "$name" --entrypoint python "$image" \
  /app/scripts/stub_slack.py --host 0.0.0.0 --port 9999 >/dev/null
docker run -d --name "${name}-bot" --network "$name" -p 127.0.0.1:13000:8080 \
  -e ROLE=bot -e SLACK_BOT_TOKEN=xoxb-ci-dummy -e SLACK_SIGNING_SECRET=ci-dummy-signing-secret \
  -e SLACK_API_URL="http://${name}-slack:9999/api/" \
  -e MODEL_SERVICE_URL="http://${name}-service:8080" -e MODEL_SERVICE_TOKEN="$token" \
  -e STORE=sqlite "$image" >/dev/null
wait_for http://127.0.0.1:13000/healthz 120 "${name}-bot"
docker exec "${name}-slack" python -c '
import json, urllib.request
calls = json.load(urllib.request.urlopen("http://127.0.0.1:9999/calls", timeout=5))
assert "auth.test" in calls, calls
print("stub Slack saw:", calls)'
status="$(curl -sS -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:13000/slack/events \
  -H 'Content-Type: application/json' -d '{}')"
echo "unsigned POST /slack/events: ${status} (want 401)"
[ "$status" = 401 ]
echo "smoke test passed: ${image}"
