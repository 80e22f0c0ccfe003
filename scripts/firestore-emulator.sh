#!/usr/bin/env bash
# Start or stop the official Firestore emulator (the JVM directly, so that its pid stops it).
# Usage: scripts/firestore-emulator.sh start|stop   (FIRESTORE_EMULATOR_PORT, default 8087)
set -euo pipefail
cd "$(dirname "$0")/.."
port="${FIRESTORE_EMULATOR_PORT:-8087}"
jar="${FIRESTORE_EMULATOR_JAR:-/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar}"
pidfile=".cache/firestore-emulator.pid"
case "${1:-}" in
  start)
    if curl -fsS "http://127.0.0.1:$port/" 2>/dev/null | grep -q Ok; then
      echo "Firestore emulator already answering on 127.0.0.1:$port"; exit 0
    fi
    [ -f "$jar" ] || { echo "Firestore emulator jar not found at $jar" >&2; exit 1; }
    mkdir -p .cache
    nohup java -cp "$jar" com.google.cloud.datastore.emulator.firestore.CloudFirestore start \
      --host=127.0.0.1 --port="$port" > .cache/firestore-emulator.log 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 1 120); do
      if curl -fsS "http://127.0.0.1:$port/" 2>/dev/null | grep -q Ok; then
        echo "Firestore emulator ready on 127.0.0.1:$port (pid $(cat "$pidfile"))"; exit 0
      fi
      sleep 0.5
    done
    echo "Firestore emulator did not start; see .cache/firestore-emulator.log" >&2; exit 1 ;;
  stop)
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
