#!/usr/bin/env bash
# Scaffold plugins/NAME: Cargo.toml, a one-line export shell (src/lib.rs),
# the logic (src/logic.rs), a native test and a fixtures folder.
set -euo pipefail
name="${1:?usage: just new-plugin NAME}"
if ! [[ "$name" =~ ^[a-z][a-z0-9-]*$ ]]; then
    echo "error: plugin name \`$name\` must be lower-case letters, digits and '-', starting with a letter" >&2
    exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
dir="$root/plugins/$name"
if [ -e "$dir" ]; then
    echo "error: $dir already exists" >&2
    exit 1
fi
crate="${name//-/_}"
# CamelCase type name from the kebab-case plugin name.
type="$(echo "$name" | sed -E 's/(^|-)([a-z0-9])/\U\2/g')"
mkdir -p "$dir/src" "$dir/tests/fixtures"
fill() { sed -e "s/__NAME__/$name/g" -e "s/__TYPE__/$type/g" -e "s/__CRATE__/$crate/g" "$here/$1"; }
fill Cargo.toml.tmpl > "$dir/Cargo.toml"
fill lib.rs.tmpl > "$dir/src/lib.rs"
fill logic.rs.tmpl > "$dir/src/logic.rs"
fill test.rs.tmpl > "$dir/tests/logic.rs"
cp "$root/../shared/fixtures/debezium/shop.noschema.jsonl" "$dir/tests/fixtures/input.jsonl" 2>/dev/null \
    || : > "$dir/tests/fixtures/input.jsonl"
cat <<MSG
created plugins/$name (crate $crate, type $type)
next:
  cargo test -p $name                      # its logic, natively
  just build-plugins                       # builds it to target/plugins/$crate.wasm
  then add it to plugins.toml:
      [plugins.$name]
      wasm = "target/plugins/$crate.wasm"
      [plugins.$name.config]
      column = "name"
  and put "$name" in a pipeline's chain; then
  just plugin-test $name plugins/$name/tests/fixtures/input.jsonl
MSG
