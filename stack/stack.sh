#!/usr/bin/env bash
# The local stack without Docker: PostgreSQL (wal_level=logical), the
# Kafka-protocol broker (nisshi), an S3 server (s3s-fs), Debezium in a Kafka
# Connect worker, then the sluice host. `up` starts what is not running, in
# order, each behind a health check; `down` stops only what `up` started (by
# pid, in reverse); `status` shows each one's health.
#
# usage: stack/stack.sh up|down [--purge]|status|postgres (up starts only what
# is not running; --purge deletes the data too; postgres starts just the
# database, for the generator tests)
# Every setting comes from .env or the environment (ports, SLUICE_STATE for
# the state directory, SLUICE_NO_HOST=1 to start everything but the host).
source "$(dirname "$0")/lib.sh"

S3_DATA="$STATE/s3"
CONNECT_DIR="$STATE/connect"
# The postgres user must reach its data directory, so it lives under /tmp
# (a checkout's parent directories may be private), one per port.
PG_DATA="${SLUICE_PG_DATA:-/tmp/sluice-$(id -u)/pg-$PGPORT}"
CONNECTOR=sluice-postgres

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/false postgres
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
psql_q() { PGPASSWORD="$PGPASSWORD" psql -h 127.0.0.1 -p "$PGPORT" -U "$PGUSER" -X -q -t -A "$@"; }

postgres_up() {
    if ! [ -f "$PG_DATA/PG_VERSION" ]; then
        say "postgres: new cluster in $PG_DATA"
        mkdir -p "$PG_DATA"
        [ "$(id -u)" = 0 ] && { id postgres >/dev/null 2>&1 || as_pg true; chown -R postgres "$(dirname "$PG_DATA")"; }
        chmod 700 "$PG_DATA"
        as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PGUSER" --auth=trust -E UTF8 >"$LOGS/postgres-initdb.log" 2>&1 \
            || die "initdb failed; see $LOGS/postgres-initdb.log"
        cat >>"$PG_DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PG_DATA'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
timezone = 'UTC'
CONF
    fi
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/postgres.log" -w -t 60 start >/dev/null \
            || die "postgres did not start; see $PG_DATA/postgres.log"
    fi
    ln -sf "$PG_DATA/postgres.log" "$LOGS/postgres.log"
    head -1 "$PG_DATA/postmaster.pid" >"$PIDS/postgres.pid"
    wait_for postgres 30 psql_q -d postgres -c 'select 1'
    if [ "$(psql_q -d postgres -c "select 1 from pg_database where datname = '$PGDATABASE'")" != 1 ]; then
        psql_q -d postgres -c "create database \"$PGDATABASE\""
    fi
    say "postgres: up on 127.0.0.1:$PGPORT (database $PGDATABASE, wal_level=logical)"
}

s3_up() {
    mkdir -p "$S3_DATA/$S3_BUCKET"
    if ! alive s3; then
        start_bg s3 "$TOOLS/bin/s3s-fs" --host 127.0.0.1 --port "$S3_PORT" \
            --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" "$S3_DATA"
    fi
    wait_for s3 20 port_open "$S3_PORT"
    say "s3: up on $AWS_ENDPOINT_URL (bucket $S3_BUCKET, files in $S3_DATA)"
}

broker_up() {
    # s3 storage (default) keeps topics across restarts in the S3 server's
    # `nisshi` bucket, so Connect's offsets and the Delta tables' txn
    # versions stay valid after `just down`/`just up`. memory storage loses
    # every topic with the process: Debezium must then snapshot again.
    local storage="${BROKER_STORAGE:-s3}"
    if ! alive broker; then
        case "$storage" in
            s3)
                mkdir -p "$S3_DATA/nisshi"
                start_bg broker env AWS_ENDPOINT="$AWS_ENDPOINT_URL" AWS_DEFAULT_REGION="$AWS_REGION" \
                    "$TOOLS/bin/nisshi" broker \
                    --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
                    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
                    --storage-engine s3://nisshi/
                ;;
            memory)
                rm -f "$CONNECT_DIR/offsets.dat"
                start_bg broker "$TOOLS/bin/nisshi" broker \
                    --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
                    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
                    --storage-engine memory://nisshi/
                ;;
            *) die "BROKER_STORAGE must be s3 or memory, got \`$storage\`" ;;
        esac
    fi
    wait_for broker 20 port_open "$KAFKA_PORT"
    say "broker: up on $KAFKA_BOOTSTRAP_SERVERS (nisshi, $storage storage)"
}

connector_state() {
    curl -sf "http://127.0.0.1:$CONNECT_HEALTH_PORT/connectors/$CONNECTOR/status" 2>/dev/null
}

connect_up() {
    local classpath; classpath="$(cat "$CACHE/connect.classpath" 2>/dev/null)" || die "run stack/install.sh first"
    mkdir -p "$CONNECT_DIR"
    if ! alive connect; then
        if ! [ -f "$CONNECT_DIR/offsets.dat" ]; then
            # No Connect offsets (fresh broker): drop the stale slot so the
            # connector snapshots again into the new topics.
            psql_q -d "$PGDATABASE" -c "select pg_drop_replication_slot('sluice_slot') from pg_replication_slots where slot_name = 'sluice_slot'" >/dev/null || true
        fi
        local schemas="${DEBEZIUM_SCHEMAS_ENABLE:-true}"
        cat >"$CONNECT_DIR/worker.properties" <<PROPS
bootstrap.servers=$KAFKA_BOOTSTRAP_SERVERS
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=$schemas
value.converter.schemas.enable=$schemas
key.converter.replace.null.with.default=false
value.converter.replace.null.with.default=false
offset.storage.file.filename=$CONNECT_DIR/offsets.dat
offset.flush.interval.ms=1000
plugin.discovery=service_load
# Fewer, larger produce requests: each one is an object write when the
# broker stores its topics in S3.
producer.linger.ms=50
producer.batch.size=1048576
PROPS
        cat >"$CONNECT_DIR/$CONNECTOR.properties" <<PROPS
name=$CONNECTOR
connector.class=io.debezium.connector.postgresql.PostgresConnector
tasks.max=1
plugin.name=pgoutput
database.hostname=127.0.0.1
database.port=$PGPORT
database.user=$PGUSER
database.password=$PGPASSWORD
database.dbname=$PGDATABASE
topic.prefix=$DEBEZIUM_TOPIC_PREFIX
slot.name=sluice_slot
publication.name=sluice_pub
publication.autocreate.mode=all_tables
table.include.list=public\\..*
snapshot.mode=initial
tombstones.on.delete=true
poll.interval.ms=20
topic.creation.default.replication.factor=1
topic.creation.default.partitions=1
PROPS
        start_bg connect java -Xmx1g -cp "$CACHE/connect-launcher:$classpath" SluiceConnect \
            "$CONNECT_DIR/worker.properties" "$CONNECT_HEALTH_PORT" "$CONNECT_DIR/$CONNECTOR.properties"
    fi
    wait_for connect 120 bash -c "curl -sf http://127.0.0.1:$CONNECT_HEALTH_PORT/connectors/$CONNECTOR/status | grep -q '\"tasks\":\[{\"id\":0,\"state\":\"RUNNING\"'"
    say "debezium: connector $CONNECTOR RUNNING (topics $DEBEZIUM_TOPIC_PREFIX.<schema>.<table>)"
}

host_up() {
    local bin="${SLUICE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/sluice}"
    [ -x "$bin" ] || die "$bin missing: run \`just build\` first"
    if ! alive sluice; then
        (cd "$ROOT" && start_bg sluice "$bin" --config plugins.toml run)
    fi
    wait_for sluice 60 grep -q "sluice running" "$LOGS/sluice.log"
    say "sluice: running; tables under ${SLUICE_TABLE_URI%/*}/ (log $LOGS/sluice.log)"
}

# The generator plugin (GENERATOR_PLUGIN of plugins.toml, default shop) at
# GENERATOR_RATE; an empty rate leaves it off.
generator_up() {
    if [ -z "${GENERATOR_RATE:-}" ]; then
        say "generator: off (GENERATOR_RATE is empty)"
        return 0
    fi
    local bin="${SLUICE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/sluice}"
    if ! alive generator; then
        (cd "$ROOT" && start_bg generator "$bin" --config plugins.toml generate \
            --plugin "${GENERATOR_PLUGIN:-shop}" --rate "$GENERATOR_RATE")
    fi
    wait_for generator 60 grep -q "generating with" "$LOGS/generator.log"
    say "generator: ${GENERATOR_PLUGIN:-shop} at $GENERATOR_RATE into $PGDATABASE (log $LOGS/generator.log)"
}

up() {
    postgres_up
    s3_up
    broker_up
    connect_up
    if [ -n "${SLUICE_NO_HOST:-}" ]; then
        say "stack up without the host (SLUICE_NO_HOST)"
        return 0
    fi
    host_up
    generator_up
    say "stack up. The shop's tables (customers, products, orders, order_items) land in"
    say "  ${SLUICE_TABLE_URI//\{table\}/<table>} (files under $S3_DATA/$S3_BUCKET/)"
    say "  try: just status, or psql -h 127.0.0.1 -p $PGPORT -U $PGUSER $PGDATABASE -c 'select status, count(*) from orders group by 1'"
}

down() {
    stop_pid generator
    stop_pid sluice
    stop_pid connect
    stop_pid broker
    stop_pid s3
    if [ -f "$PIDS/postgres.pid" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || stop_pid postgres
        rm -f "$PIDS/postgres.pid"
    fi
    say "stack down"
}

# Delete what the stack keeps: the database cluster, the S3 server's files
# (topics and Delta tables), Connect's offsets, logs.
purge() {
    rm -rf "$STATE" "$PG_DATA"
    say "stack data deleted ($STATE, $PG_DATA)"
}

status() {
    local rc=0
    line() { printf '%-10s %-8s %s\n' "$1" "$2" "$3"; }
    if alive postgres && psql_q -d postgres -c 'select 1' >/dev/null 2>&1; then line postgres up "127.0.0.1:$PGPORT"; else line postgres down ""; rc=1; fi
    if alive s3 && port_open "$S3_PORT"; then line s3 up "$AWS_ENDPOINT_URL"; else line s3 down ""; rc=1; fi
    if alive broker && port_open "$KAFKA_PORT"; then line broker up "$KAFKA_BOOTSTRAP_SERVERS"; else line broker down ""; rc=1; fi
    local st; st="$(connector_state || true)"
    if alive connect && [ -n "$st" ]; then line connect up "$st"; else line connect down ""; rc=1; fi
    if alive generator; then
        line generator up "$(grep -E 'ops/s|generating with' "$LOGS/generator.log" | tail -1 | sed -E 's/\x1b\[[0-9;]*m//g')"
    elif [ -n "${GENERATOR_RATE:-}" ]; then
        line generator down ""; rc=1
    fi
    if alive sluice; then
        line sluice up "$(grep -E 'records/s|sluice running' "$LOGS/sluice.log" | tail -1 | sed -E 's/\x1b\[[0-9;]*m//g')"
    else
        line sluice down ""; rc=1
    fi
    local bin="${SLUICE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/sluice}"
    if [ -x "$bin" ] && port_open "$KAFKA_PORT"; then
        echo
        (cd "$ROOT" && "$bin" --config plugins.toml status 2>&1) || rc=1
    fi
    return $rc
}

case "${1:-}" in
    up) "$ROOT/stack/install.sh"; up ;;
    postgres) postgres_up ;;
    down) down; if [ "${2:-}" = --purge ]; then purge; fi ;;
    status) status ;;
    *) echo "usage: $0 up|down [--purge]|status|postgres" >&2; exit 2 ;;
esac
