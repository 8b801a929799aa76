#!/usr/bin/env bash
# Make sure the project's private Python venv exists (cached outside the repo,
# ~/.cache/sluice/venv) with `just` (the rust-just wheel, a prebuilt binary)
# and the ordinary Delta readers the checks and the README's recipes use
# (deltalake, pyarrow, polars, DuckDB with its delta extension from PyPI, as
# this machine cannot download DuckDB extensions; the versions must match).
# Prints the venv's bin directory. Idempotent and quick when already done.
set -euo pipefail
venv="${SLUICE_CACHE:-$HOME/.cache/sluice}/venv"
duckdb=1.5.5
if ! "$venv/bin/python" -c "import deltalake, pyarrow, polars, duckdb, duckdb_extension_delta; assert duckdb.__version__ == '$duckdb'" 2>/dev/null \
    || ! [ -x "$venv/bin/just" ]; then
    echo "setting up $venv (just, deltalake, pyarrow, polars, duckdb)…" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check rust-just deltalake pyarrow polars \
        "duckdb==$duckdb" "duckdb-extension-delta==$duckdb" "duckdb-extension-httpfs==$duckdb" >&2
fi
echo "$venv/bin"
