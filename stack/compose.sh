#!/usr/bin/env bash
# The platform in containers (docker-compose.yml), for machines with a Docker
# engine: `up` builds the sluice image, starts every service and waits until
# each long-running one is healthy; `down [--purge]` stops them (and deletes
# their volumes); `running` tells whether this project's containers exist.
#
# usage: stack/compose.sh available|running|up|down [--purge]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# `docker compose` (v2 plugin) or `docker-compose` (v1), once an engine answers.
compose() {
    if docker compose version >/dev/null 2>&1; then
        docker compose "$@"
    elif command -v docker-compose >/dev/null; then
        docker-compose "$@"
    else
        die "a Docker engine runs but neither \`docker compose\` nor \`docker-compose\` is installed"
    fi
}

engine() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

# Services that keep running (the one-shot jobs have no health check).
long_running() { compose config --services | grep -v -x -E 'register-connector|create-bucket'; }

wait_healthy() {
    local deadline=$(( $(date +%s) + ${1:-600} )) pending
    while :; do
        pending=()
        for s in $(long_running); do
            local id state
            id="$(compose ps -q "$s" 2>/dev/null | head -1)"
            state="$( [ -n "$id" ] && docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || echo missing)"
            [ "$state" = healthy ] || pending+=("$s:$state")
        done
        [ ${#pending[@]} -eq 0 ] && return 0
        [ "$(date +%s)" -ge "$deadline" ] && die "not healthy: ${pending[*]} (see \`docker compose logs\`)"
        say "waiting for: ${pending[*]}"
        sleep 5
    done
}

env_val() { grep -E "^$1=" .env | tail -1 | cut -d= -f2-; }

case "${1:-}" in
    available) engine ;;
    running) engine && [ -n "$(compose ps -q 2>/dev/null)" ] ;;
    up)
        engine || die "no Docker engine answers (\`docker info\` fails)"
        say "building the sluice image and starting the platform (first build: ~15 min)…"
        compose up --build -d
        wait_healthy 900
        say "platform up; every service is healthy:"
        compose ps
        cat >&2 <<MSG
  Delta tables:   s3://$(env_val S3_BUCKET)/debezium-data/<table> in MinIO, S3 API http://127.0.0.1:$(env_val MINIO_API_PORT)
  MinIO console:  http://127.0.0.1:$(env_val MINIO_CONSOLE_PORT) (user $(env_val AWS_ACCESS_KEY_ID))
  host metrics:   http://127.0.0.1:$(env_val SLUICE_METRICS_PORT)/metrics and /health
  logs:           docker compose logs -f sluice generator
  read a table:   AWS_ENDPOINT_URL=http://127.0.0.1:$(env_val MINIO_API_PORT) sluice show orders
MSG
        ;;
    down)
        if [ "${2:-}" = --purge ]; then
            compose down --volumes --remove-orphans
            say "platform down; volumes (database, topics, tables) deleted"
        else
            compose down --remove-orphans
            say "platform down; data kept in the volumes (\`just down --purge\` deletes it)"
        fi
        ;;
    *) echo "usage: $0 available|running|up|down [--purge]" >&2; exit 2 ;;
esac
