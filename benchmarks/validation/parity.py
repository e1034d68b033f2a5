"""Parity plot of the published-rows table: model against published value, each row relative to
its published value, with the published spread (the row's SD, or 10 % where none is given) as an
error bar; training and held-out rows marked apart.

    python benchmarks/validation/parity.py [TABLE.json] [OUT.png]

Defaults: benchmarks/results/validation-published-rows.json -> benchmarks/results/validation-parity.png.
Reads the table benchmarks/validation/published_rows.py writes; solves nothing.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

RESULTS = Path(__file__).resolve().parent.parent / "results"


def parity_plot(table: dict, out: Path) -> Path:
    rows = [r for r in table["rows"] if r.get("model") is not None and r.get("published")]
    fig, ax = plt.subplots(figsize=(6.5, 6.0))
    for role, marker, colour in (("train", "s", "tab:red"), ("held_out", "o", "tab:blue")):
        chosen = [r for r in rows if r["role"] == role]
        if not chosen:
            continue
        ratio = [r["model"] / r["published"] for r in chosen]
        ax.errorbar([r["published"] for r in chosen], [r["model"] for r in chosen],
                    xerr=[2.0 * r["sd_used"] for r in chosen], fmt=marker, color=colour, capsize=2,
                    label=f"{role.replace('_', '-')} ({len(chosen)} rows; model/published median "
                          f"{sorted(ratio)[len(ratio) // 2]:.2f})")
    lo = min(min(r["published"], r["model"]) for r in rows)
    hi = max(max(r["published"], r["model"]) for r in rows)
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="model = published")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("published (row's own unit; bar: +/- 2 SD)")
    ax.set_ylabel("model")
    ax.set_title(f"Published rows vs model; fitted: {table.get('fitted', '?')} (rows <= 0 not drawn)", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    table_path = Path(argv[0]) if argv else RESULTS / "validation-published-rows.json"
    out = Path(argv[1]) if len(argv) > 1 else RESULTS / "validation-parity.png"
    print(parity_plot(json.loads(table_path.read_text()), out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
