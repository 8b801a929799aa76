# Sluice task runner. `just` lists the recipes.

set shell := ["bash", "-euo", "pipefail", "-c"]

root := justfile_directory()
# Cargo's target directory (CI keeps it outside the clone, e.g. ~/.cache/sluice/target).
target := env_var_or_default("CARGO_TARGET_DIR", root / "target")
# Where built plugins are copied for plugins.toml (stable, whatever `target` is).
plugin_dir := root / "target/plugins"

# List the recipes.
default:
    @just --list

# Build every plugin for wasm32-wasip2 and copy the .wasm files to target/plugins/.
build-plugins:
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{root}}"
    # Every crate under plugins/ but the SDK, and the purpose-built bad plugins
    # of the sandbox tests (host/tests/plugins/).
    names=()
    for d in plugins/*/ host/tests/plugins/*/; do
        n="$(basename "$d")"; [ "$n" = sdk ] || names+=("$n")
    done
    cargo build --profile plugin --target wasm32-wasip2 "${names[@]/#/-p}"
    mkdir -p "{{plugin_dir}}"
    for p in "${names[@]}"; do
        f="${p//-/_}.wasm"
        cp "{{target}}/wasm32-wasip2/plugin/$f" "{{plugin_dir}}/$f.tmp"
        mv "{{plugin_dir}}/$f.tmp" "{{plugin_dir}}/$f"   # rename: a running host never sees half a file
    done
    ls -l "{{plugin_dir}}"

# Build the sluice host (debug) and the plugins.
build: build-plugins
    cargo build -p sluice

# The same in release mode (what ./Dockerfile builds for docker compose).
build-release: build-plugins
    cargo build --release --locked -p sluice

# With a Docker engine: docker compose (builds the sluice image, starts every
# service, waits until each is healthy). Without one: the local stack
# (PostgreSQL, the broker, S3, Debezium, the host, the generator as
# processes; installs what is missing first). SLUICE_STACK=local|compose
# forces one.
# Start the whole platform (docker compose with a Docker engine, else local processes).
up:
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{root}}"
    mode="${SLUICE_STACK:-auto}"
    if [ "$mode" = compose ] || { [ "$mode" = auto ] && stack/compose.sh available; }; then
        exec stack/compose.sh up
    fi
    "{{just_executable()}}" build
    SLUICE_BIN="{{target}}/debug/sluice" stack/stack.sh up

# `--purge` also deletes the data (database, topics, Delta tables, logs).
# Stop what `just up` started (`just down --purge` also deletes its data).
down *flags:
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{root}}"
    case "{{flags}}" in ""|--purge) ;; *) echo "usage: just down [--purge]" >&2; exit 2 ;; esac
    if stack/compose.sh running; then stack/compose.sh down {{flags}}; fi
    stack/stack.sh down {{flags}}

# Stop everything and delete its data (= `just down --purge`).
clean:
    "{{just_executable()}}" down --purge

# Health of each component, the connector's state, and per pipeline and
# partition: offset in Delta, broker high watermark, lag, last commit.
status:
    SLUICE_BIN="{{target}}/debug/sluice" stack/stack.sh status

# Every check CI runs: formatting, clippy -D warnings, all tests (unit, plugin
# logic, real .wasm fixture harness, sandbox, replay into Delta, and the
# end-to-end tests on the real local stack), then the replayed tables read
# back with Python deltalake. Installs the stack's tools the first time.
test: build-plugins
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    stack/install.sh
    cargo test --workspace
    just check-replay-python

# Only the end-to-end tests on the real stack (~3 min).
test-e2e: build-plugins
    stack/install.sh
    cargo test -p sluice --test e2e -- --nocapture

# Replay the shared Debezium fixtures into lake-replay/ and check with Python
# `deltalake` (an ordinary reader) that types and values match Postgres.
check-replay-python:
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{root}}"
    out="$(mktemp -d)"
    trap 'rm -rf "$out"' EXIT
    fixtures="{{root}}/../shared/fixtures/debezium"
    cargo run -q -p sluice -- replay --input "$fixtures/shop.schema.jsonl" --output "$out/schema"
    cargo run -q -p sluice -- replay --input "$fixtures/shop.noschema.jsonl" --output "$out/noschema"
    "$(stack/python-env.sh)/python" host/tests/py/check_replay.py "$fixtures" "$out/schema" "$out/noschema"

# Replay a capture file (JSONL) through plugins.toml into Delta tables.
replay input output="lake": build-plugins
    cargo run -q -p sluice -- replay --input "{{input}}" --output "{{output}}"

# Drive .env's Postgres with a generator (default shop), e.g. `just generate --rate 200/s --duration 10s`.
generate *args: build
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{root}}"
    set -a; source .env; set +a
    "{{target}}/debug/sluice" generate {{args}}

# Load a CSV file into .env's Postgres, e.g. `just load data/customers.csv`.
load file *args: build
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{root}}"
    set -a; source .env; set +a
    "{{target}}/debug/sluice" load "{{file}}" {{args}}

# Print a Delta table's newest rows and history with .env's settings, e.g. `just show orders -n 5`.
show table *args: build
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{root}}"
    set -a; source .env; set +a
    "{{target}}/debug/sluice" show "{{table}}" {{args}}

# Print a topic's Debezium events readably with .env's broker, e.g. `just tail orders -f`.
tail topic *args: build
    #!/usr/bin/env bash
    set -euo pipefail
    cd "{{root}}"
    set -a; source .env; set +a
    "{{target}}/debug/sluice" tail "{{topic}}" {{args}}

# Validate plugins.toml and load every plugin it names.
check: build-plugins
    cargo run -p sluice -- check

# Run one plugin's real .wasm over a capture file (golden file with --expect).
plugin-test name input *args: build-plugins
    cargo run -p sluice -- plugin test "{{name}}" --input "{{input}}" {{args}}

# Benchmark the parse → select → enrich chain, Wasm vs native (criterion).
bench: build-plugins
    cargo bench -p sluice --bench chain

# The live path on the real broker and S3 server: 1M preloaded messages into
# Delta on disk and on S3, latency at 5,000 changes/s, peak RSS.
bench-e2e messages="1000000": build-plugins
    stack/install.sh
    SLUICE_BENCH_MESSAGES={{messages}} cargo bench -p sluice --bench e2e

# sluice generate with the shop plugin, unthrottled, into a private
# PostgreSQL: operations/s at 100, 1,000 and 10,000 operations per transaction.
bench-generate ops="200000": build-plugins
    SLUICE_BENCH_OPS={{ops}} cargo bench -p sluice --bench generate

# Scaffold a new plugin crate under plugins/NAME.
new-plugin name:
    @bash "{{root}}/plugins/sdk/template/new-plugin.sh" "{{name}}"
