#!/usr/bin/env bash
# Build the documentation: install the docs requirements into .venv, generate the scenario
# reference from the schema, execute the worked-example notebook (any cell error fails the build)
# and run `mkdocs build --strict`.
#
#   docs/build.sh [SITE_DIR]        # default: results/docs/site
#
# Outputs: SITE_DIR (the HTML site), results/docs/worked_example.ipynb (the executed notebook).
# Generated inside docs/ and not kept in git: docs/scenario-reference.md, docs/worked-example.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="$ROOT/.venv/bin/python"
SITE_DIR="${1:-results/docs/site}"
[[ "$SITE_DIR" = /* ]] || SITE_DIR="$ROOT/$SITE_DIR"   # a relative SITE_DIR is under the project
OUT_DIR="results/docs"

if [[ ! -x "$PY" ]]; then
    echo "docs/build.sh: $PY not found; run ./quickstart first to create .venv" >&2
    exit 1
fi

start=$(date +%s)
echo "== installing docs/requirements.txt into .venv"
"$PY" -m pip install -q -r docs/requirements.txt

echo "== generating docs/scenario-reference.md from the schema"
"$PY" docs/gen_scenario_reference.py docs/scenario-reference.md

echo "== executing docs/notebooks/worked_example.ipynb"
mkdir -p "$OUT_DIR"
"$PY" docs/notebooks/run_notebook.py docs/notebooks/worked_example.ipynb \
    "$OUT_DIR/worked_example.ipynb" docs/worked-example.md

echo "== mkdocs build --strict -> $SITE_DIR"
NO_MKDOCS_2_WARNING=1 "$PY" -m mkdocs build --strict --clean -d "$SITE_DIR"

echo "docs built in $(( $(date +%s) - start )) s: $SITE_DIR/index.html"
