#!/usr/bin/env bash
# Make sure the project's private Python venv exists (cached outside the repo,
# ~/.cache/sluice/venv) with `just` (the rust-just wheel, a prebuilt binary)
# and the ordinary Delta readers the checks use (deltalake, pyarrow).
# Prints the venv's bin directory. Idempotent and quick when already done.
set -euo pipefail
venv="${SLUICE_CACHE:-$HOME/.cache/sluice}/venv"
if ! "$venv/bin/python" -c 'import deltalake, pyarrow' 2>/dev/null || ! [ -x "$venv/bin/just" ]; then
    echo "setting up $venv (just, deltalake, pyarrow)…" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check rust-just deltalake pyarrow >&2
fi
echo "$venv/bin"
