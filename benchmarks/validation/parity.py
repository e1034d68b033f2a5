"""Parity plot of the published-rows table: model against published value, with the published
spread (2 x the row's SD, or 20 % where none is given) as the horizontal bar and the model's 5-95 %
zone band as the vertical one; training and held-out rows marked apart; the first version's model
(the "before" table) in grey for comparison. The held-out rows that the table reads from the
cluster benchmarks' stored results (multi_channel.py: three clusters, Lee 2005; size_vs_time.py:
clustered electrode, Goldberg) are drawn as triangles.

    python benchmarks/validation/parity.py [TABLE.json] [OUT.png] [BEFORE.json]

Defaults: benchmarks/results/validation-published-rows-<default model>.json and
...-library-2026.11.json -> benchmarks/results/validation-parity.png. Reads the tables
benchmarks/validation/published_rows.py writes; solves nothing.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from ablation.output.plots import plot_parity

RESULTS = Path(__file__).resolve().parent.parent / "results"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from ablation.input.models import DEFAULT_MODEL, LIBRARY
    table_path = Path(argv[0]) if argv else RESULTS / f"validation-published-rows-{DEFAULT_MODEL}.json"
    out = Path(argv[1]) if len(argv) > 1 else RESULTS / "validation-parity.png"
    before_path = Path(argv[2]) if len(argv) > 2 else RESULTS / f"validation-published-rows-{LIBRARY}.json"
    before = json.loads(before_path.read_text()) if before_path.exists() and before_path != table_path else None
    table = json.loads(table_path.read_text())
    plot_parity(table, out, before)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
