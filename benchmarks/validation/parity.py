"""Parity plot of the published-rows table: model against published value, with the published
spread (2 x the row's SD, or 20 % where none is given) as the horizontal bar and the model's 5-95 %
zone band as the vertical one; training and held-out rows marked apart; the first version's model
(the "before" table) in grey for comparison. The held-out rows that their own benchmarks run
(multi_channel.py: three clusters, Lee 2005; size_vs_time.py: clustered electrode, Goldberg) are
added as triangles when their results exist and were solved under the table's zone model (no model
band: those runs compute none).

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


def _same_model(path: Path, model: str) -> dict | None:
    """The benchmark's results when they were solved under ``model`` (its recorded ``zone_model``);
    None otherwise (results from before a model change are not the table's model's)."""
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    if record.get("zone_model") != model:
        print(f"parity: {path.name} left out: solved under {record.get('zone_model', 'an earlier model')}, "
              f"not {model}", file=sys.stderr)
        return None
    return record


def benchmark_rows(model: str) -> list[dict]:
    """Parity rows of the held-out benchmarks that run outside the published-rows table, solved under
    the table's zone model ``model``."""
    rows = []
    multi = _same_model(RESULTS / "validation-multi-channel.json", model)
    if multi:
        for r in multi["rows"]:
            rows.append({"id": f"three clusters {r['method']} volume", "role": "held_out_benchmark",
                         "published": r["published_volume_ml"], "sd_used": r["published_volume_sd"],
                         "model": r["volume_ml"], "unit": "mL"})
            rows.append({"id": f"three clusters {r['method']} centre", "role": "held_out_benchmark",
                         "published": r["published_centre_C"], "sd_used": r["published_centre_sd"],
                         "model": r["centre_temperature_C"], "unit": "degC"})
    series = _same_model(RESULTS / "validation-size-vs-time.json", model)
    if series:
        for r in series["rows"]:
            rows.append({"id": r["id"], "role": "held_out_benchmark", "published": r["published_cm"],
                         "sd_used": r["sd_cm"], "model": r["model_cm"], "unit": "cm"})
    for r in rows:
        r["modality"] = "rfa"
    return rows


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from ablation.input.models import DEFAULT_MODEL, LIBRARY
    table_path = Path(argv[0]) if argv else RESULTS / f"validation-published-rows-{DEFAULT_MODEL}.json"
    out = Path(argv[1]) if len(argv) > 1 else RESULTS / "validation-parity.png"
    before_path = Path(argv[2]) if len(argv) > 2 else RESULTS / f"validation-published-rows-{LIBRARY}.json"
    before = json.loads(before_path.read_text()) if before_path.exists() and before_path != table_path else None
    table = json.loads(table_path.read_text())
    table["rows"] = table["rows"] + benchmark_rows(table.get("model", DEFAULT_MODEL))
    plot_parity(table, out, before)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
