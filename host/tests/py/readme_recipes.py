"""Run the README's "Reading the data back" recipes against a live stack.

usage: readme_recipes.py README ENDPOINT PREFIX

Each ```python block after a `<!-- recipe: NAME -->` line in that section is
run as written, with the local stack's address (127.0.0.1:8014) and table
prefix (s3://lake/debezium-data/) replaced by ENDPOINT (host:port) and
PREFIX. A recipe leaves its answer in `counts` (changes per `_op`) and may
leave `current` (the rows as Postgres has them now). The last line printed
is `RECIPES <json>` with each recipe's counts, for the caller to compare.

DuckDB's delta extension normally downloads itself on first use; offline,
the PyPI wheel duckdb-extension-delta carries it, and this script puts it
where DuckDB looks ($HOME/.duckdb/extensions/vX/PLATFORM/) in a temporary
HOME, so the user's own ~/.duckdb is never touched.
"""

import json
import pathlib
import re
import os
import shutil
import sys
import tempfile


def recipes(readme: str):
    section = readme.split("## Reading the data back", 1)[1].split("\n## ", 1)[0]
    pattern = re.compile(r"<!-- recipe: (\w+) -->\s*```python\n(.*?)```", re.S)
    return pattern.findall(section)


def offline_duckdb_extensions():
    import duckdb

    platform = duckdb.execute("PRAGMA platform").fetchone()[0]
    version = duckdb.__version__
    home = tempfile.mkdtemp(prefix="sluice-recipes-")
    os.environ["HOME"] = home
    target = pathlib.Path(home) / ".duckdb" / "extensions" / f"v{version}" / platform
    for module in ("duckdb_extension_delta", "duckdb_extension_httpfs"):
        try:
            package = __import__(module)
        except ImportError:
            continue
        for ext in pathlib.Path(package.__file__).parent.rglob("*.duckdb_extension"):
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(ext, target / ext.name)
    return home


def as_pairs(result):
    """(op, count) pairs of a DuckDB relation, polars or pyarrow table."""
    if hasattr(result, "fetchall"):
        return result.fetchall()
    if hasattr(result, "iter_rows"):
        return list(result.iter_rows())
    return list(zip(*[c.to_pylist() for c in result.columns]))


def main():
    readme_path, endpoint, prefix = sys.argv[1:4]
    found = recipes(pathlib.Path(readme_path).read_text())
    if not found:
        sys.exit(f"{readme_path}: no recipes under 'Reading the data back'")
    home = offline_duckdb_extensions()
    out = {}
    for name, code in found:
        code = code.replace("127.0.0.1:8014", endpoint).replace("s3://lake/debezium-data/", prefix)
        print(f"--- recipe {name}", flush=True)
        scope = {}
        exec(compile(code, f"README recipe {name}", "exec"), scope)
        out[name] = {"counts": {str(op): int(n) for op, n in as_pairs(scope["counts"])}}
        if "current" in scope:
            out[name]["current"] = scope["current"].shape[0]
    shutil.rmtree(home, ignore_errors=True)
    print("RECIPES " + json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
