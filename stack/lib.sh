# Shared by the stack scripts: locations, .env, logging, health waits.
# Installs are cached outside the repo ($SLUICE_CACHE, ~/.cache/sluice);
# runtime state (data, logs, pids) lives in the repo's .stack/ (gitignored).

set -euo pipefail
# runuser and useradd live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"
TOOLS="$CACHE/tools"
STATE="${SLUICE_STATE:-$ROOT/.stack}"
LOGS="$STATE/logs"
PIDS="$STATE/pids"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
mkdir -p "$LOGS" "$PIDS"

# .env gives defaults; the environment wins.
if [ -f "$ROOT/.env" ]; then
    while IFS='=' read -r key value; do
        [[ "$key" =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
        [ -n "${!key+x}" ] || export "$key=$value"
    done < "$ROOT/.env"
fi

say() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# wait_for NAME SECONDS CMD...: run CMD until it succeeds, or fail naming the log.
wait_for() {
    local name="$1" secs="$2"; shift 2
    local deadline=$(( $(date +%s) + secs ))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            die "$name not healthy after ${secs}s; see $LOGS/$name.log"
        fi
        sleep 0.3
    done
}

# Is the process recorded for NAME alive?
alive() {
    local f="$PIDS/$1.pid"
    [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# start_bg NAME CMD...: start CMD in the background, log and pid under .stack.
start_bg() {
    local name="$1"; shift
    nohup "$@" >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$PIDS/$name.pid"
}

# stop_pid NAME: TERM the recorded process, KILL it after 15 s.
stop_pid() {
    local name="$1" f="$PIDS/$1.pid"
    [ -f "$f" ] || return 0
    local pid; pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
        kill -0 "$pid" 2>/dev/null && { say "$name did not stop; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
    fi
    rm -f "$f"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
