"""The approach comparison (``ablation compare``) as files: comparison.csv, comparison.md and
comparison.json, written as a whole like a run's result (:mod:`ablation.output.files`): comparison.json
carries the manifest of the other files."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from ablation.outcome.compare import COLUMNS
from ablation.output.files import AtomicOutput


def to_csv(rows: list) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([_fmt(r[c]) for c in COLUMNS])
    return buffer.getvalue()


def _fmt(v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.6g}"
    return v


def to_markdown(report: dict) -> str:
    lines = [f"# Placement approaches: {report['scenario']}", "",
             "Model predictions for research, **not clinical advice**. Lesion criterion "
             f"`{report['criterion']}`, {report['samples']} samples, seed {report['seed']}, common random numbers "
             "across approaches; 95 % Wilson intervals.", "",
             "| approach | Pringle | insertions | P(technical success) | P(MAM >= 5 mm) | P(MAM >= 10 mm) | "
             "median coverage | median MAM (mm) | method |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        def p(key):
            return f"{r[key]:.3f} [{r[key + '_ci_low']:.3f}, {r[key + '_ci_high']:.3f}]"
        lines.append(f"| {r['approach']} | {'yes' if r['pringle'] else 'no'} | {r['insertions']} | "
                     f"{p('p_technical_success')} | {p('p_margin_5mm')} | {p('p_margin_10mm')} | "
                     f"{100 * r['median_coverage']:.1f} % | {_margin(r['median_min_margin_mm'])} | {r['method']} |")
    rk = report["ranking"]
    verdict = "holds" if rk["holds"] else ("DOES NOT hold (intervals do not overlap)" if rk["significant_violation"]
                                           else "does not hold, within overlapping 95 % intervals (sampling noise)")
    sets = sorted({m.get("preset_set", "-") for m in report["approaches"].values()})
    lines += ["", f"Ranking open >= laparoscopic >= percutaneous (no Pringle): {verdict}."]
    missed = sorted({(r["pringle"], r["insertions"], r["planned_min_margin_mm"]) for r in report["rows"]
                     if r["planned_min_margin_mm"] is None or r["planned_min_margin_mm"] < 0},
                    key=lambda m: m[:2])
    if missed:
        where = "; ".join(f"{'with' if pringle else 'without'} Pringle, {k} insertion(s): "
                          + ("no zone reaches it" if _margin(mam) == "none" else f"{_margin(mam)} mm")
                          for pringle, k, mam in missed)
        lines += ["", f"The planned placement itself misses part of the tumour (planned MAM {where}). There a "
                      "placement error can move the zone over the missed part, so a larger error can give a higher "
                      "P(technical success); compare approaches on a placement that covers the tumour."]
    lines += ["", f"Error models (preset set {', '.join(sets)}):", ""]
    for name, m in report["approaches"].items():
        lines.append(f"- **{name}**: sigma along {m['sigma_along_mm']['value']:.2f} mm, across "
                     f"{m['sigma_across_mm']['value']:.2f} mm ({m['sigma_along_mm']['source']}); Pringle "
                     f"{'possible' if m['pringle_available']['value'] else 'not possible'}; repositioning "
                     f"{m['repositioning']['value']}")
    return "\n".join(lines) + "\n"


def _margin(value) -> str:
    """A margin in mm; none where no zone reached the tumour (no margin to measure)."""
    return "none" if value is None or not math.isfinite(value) else f"{value:.2f}"


def write_comparison(out: Path, report: dict, *, force: bool = False) -> Path:
    """comparison.csv, comparison.md and comparison.json (with the manifest) into ``out`` as a
    whole; ``out`` is checked and locked like a run's folder (:class:`ablation.output.files.AtomicOutput`)."""
    with AtomicOutput(out, kind="comparison", force=force) as output:
        (output.path / "comparison.csv").write_text(to_csv(report["rows"]))
        (output.path / "comparison.md").write_text(to_markdown(report))
        output.finish("comparison.json", report)
    return Path(out)
