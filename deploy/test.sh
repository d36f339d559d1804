#!/usr/bin/env bash
# The documented cluster deploy, end to end, with a real Docker engine: builds the image, brings
# deploy/docker-compose.yml up (Redis, three nodes, nginx), checks it through the balancer with
# tests/js/deploy-check.js (every dialect; a cross-node message; `docker stop` of a node closes
# its clients with 1001 while new clients are not stalled; nginx restarted while that node is
# down starts and serves; the node restarted takes clients again), then media between two
# Chromium pages on different nodes through the published UDP ports (tests/js/media-browser.js
# for `signals`, tests/js/mediasoup-browser.js for `mediasoup`; needs Debian's chromium), then
# tears everything down.
#
#   deploy/test.sh
#
# Needs Docker with Compose (v2 `docker compose` or v1 `docker-compose`), Node.js and npm, and
# port 8080 free. Too heavy for every CI run (it builds the release image); run it before
# changing anything in deploy/.
set -euo pipefail
cd "$(dirname "$0")/.."

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  compose=(docker-compose)
fi
project=switchboard-deploy-test
compose+=(-p "$project" -f deploy/docker-compose.yml)
say() { printf 'deploy-test: %s\n' "$*"; }

cleanup() {
  status=$?
  if [ "$status" -ne 0 ]; then
    say "failed; the nodes' last logs:"
    "${compose[@]}" logs --tail 30 node1 node2 node3 lb 2>&1 | tail -120 || true
  fi
  "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  exit "$status"
}
trap cleanup EXIT

for module in ws playwright-core mediasoup-client protoo-client esbuild; do
  if [ ! -d "tests/js/node_modules/$module" ]; then
    (cd tests/js && npm ci --no-audit --no-fund)
    break
  fi
done

# The compose file asks for 65,536 open files per node; a daemon whose own hard limit is lower
# cannot grant that, so ask for what it has (the node sizes its client limit to fit).
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 65536 ]; then
  export SWITCHBOARD_NOFILE=$hard
  say "open-file limit here is $hard: the containers get that"
fi

say "building the image"
"${compose[@]}" build
say "starting the cluster"
"${compose[@]}" up -d

say "waiting for the balancer and three healthy nodes"
deadline=$((SECONDS + 120))
for node in node1 node2 node3; do
  id=$("${compose[@]}" ps -q "$node")
  until [ "$(docker inspect -f '{{.State.Health.Status}}' "$id")" = healthy ]; do
    [ "$SECONDS" -lt "$deadline" ] || { say "$node never became healthy"; exit 1; }
    sleep 1
  done
done
until [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/healthz)" = 200 ]; do
  [ "$SECONDS" -lt "$deadline" ] || { say "the balancer never answered"; exit 1; }
  sleep 1
done
"${compose[@]}" logs node1 | grep -m1 "open-file limit" || true

compose_json=$(printf '%s\n' "${compose[@]}" | node -e \
  'console.log(JSON.stringify(require("fs").readFileSync(0,"utf8").trim().split("\n")))')
LB=127.0.0.1:8080 COMPOSE="$compose_json" node tests/js/deploy-check.js

# Media through the published UDP ports: Chromium publishes a tone in an m2m room and another
# Chromium page, served by another node, hears it (the driver waits for a line before the
# publisher leaves; no other client joins here).
say "media: Chromium to Chromium across two nodes, media to the room's home over UDP"
(cd tests/js && echo go | node media-browser.js ws://127.0.0.1:8080/signals \
  ws://127.0.0.1:8080/signals 1 m2m)
# The mediasoup dialect the same way: mediasoup-client 2.x in Chromium produces a tone and a
# canvas's video, and another page, served by another node, consumes and decodes them.
say "mediasoup: mediasoup-client to mediasoup-client across two nodes"
(cd tests/js && node mediasoup-browser.js ws://127.0.0.1:8080 ws://127.0.0.1:8080 1)
say "passed"
