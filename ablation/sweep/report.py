"""The sweep's report.html (self-contained, pictures embedded) and report.md, in the style of a
run's report (:mod:`ablation.output.report`, whose helpers it uses): disclaimer, the sweep, the
placement probabilities per approach, indices, metric summaries, failures, pictures."""
from __future__ import annotations

import html
from pathlib import Path

from ablation.output.report import CSS, DISCLAIMER, IMAGE_CHECK_JS, Doc, fmt
from ablation.sweep.store import _atomic_bytes


def _interval(entry: dict) -> str:
    lo, hi = entry.get("interval", [None, None])
    return f"{fmt(entry.get('p'))} [{fmt(lo)}, {fmt(hi)}]"


def build_sweep_report(directory, record: dict, plots, columns: dict) -> tuple[str, str]:
    directory = Path(directory)
    sweep = record["sweep"]
    doc = Doc()
    doc.raw(f'<p class="disclaimer">{html.escape(DISCLAIMER)}</p>', f"> **{DISCLAIMER}**\n")
    doc.heading(f"Sweep: {record['scenario']}", 1)
    status = record["status"]
    doc.para(f"{sweep['mode']} ({sweep['method']}), {record['samples']} samples, seed {sweep['seed']}: "
             f"{status['ok']} finished, {status['failed']} failed, {status['missing']} missing. "
             f"Scenario file {record.get('source') or '(none)'}; table results.parquet / results.csv.")
    doc.heading("Parameters")
    rows = []
    for p in sweep["parameters"]:
        if p["kind"] == "values":
            what = ", ".join(fmt(v) for v in p["values"])
        else:
            what = f"{p['distribution']} {fmt(p['shape_si'])}"
        rows.append([p["path"], p.get("unit") or "as written", what])
    doc.table(["path", "unit in the table", "values / distribution (SI)"], rows)

    approaches = record.get("approaches") or {}
    if approaches:
        doc.heading("Placement outcome per approach, over the swept parameters")
        doc.table(["approach", "P(technical success) [interval]", "P(MAM >= 5 mm) [interval]"],
                  [[a, _interval(e.get("p_technical_success", {})), _interval(e.get("p_margin_5mm", {}))]
                   for a, e in approaches.items()])
        doc.para(record.get("approaches_note", ""), "note")

    indices = record.get("indices") or {}
    if indices:
        doc.heading("Sensitivity indices")
        for metric, entry in indices.items():
            doc.heading(metric, 3)
            if not entry.get("available"):
                doc.para(entry.get("reason", "not computed"), "note")
                continue
            if entry["method"] == "sobol":
                doc.table(["parameter", "S1", "S1 +/-", "ST", "ST +/-"],
                          [[n, fmt(v["S1"], 3), fmt(v["S1_conf"], 2), fmt(v["ST"], 3), fmt(v["ST_conf"], 2)]
                           for n, v in entry["parameters"].items()], numeric=(1, 2, 3, 4))
            else:
                doc.table(["parameter", "mu*", "mu* +/-", "mu", "sigma"],
                          [[n, fmt(v["mu_star"]), fmt(v["mu_star_conf"], 2), fmt(v["mu"]), fmt(v["sigma"])]
                           for n, v in entry["parameters"].items()], numeric=(1, 2, 3, 4))
        doc.para(f"Intervals: {100 * sweep['confidence']:.0f} % from {sweep['bootstrap']} bootstrap resamples "
                 "(SALib).", "note")

    doc.heading("Metrics over the samples")
    units = sweep.get("metric_units", {})
    doc.table(["metric", "unit", "n", "mean", "sd", "q05", "median", "q95"],
              [[m, units.get(m, ""), s.get("count"), fmt(s.get("mean")), fmt(s.get("sd")), fmt(s.get("q05")),
                fmt(s.get("q50")), fmt(s.get("q95"))] for m, s in record["summaries"].items()],
              numeric=(2, 3, 4, 5, 6, 7))
    if status["failed"]:
        doc.heading("Failed samples")
        doc.para("Each failure is in failures.json with its error, traceback, changes and scenario; a rerun "
                 "with --resume retries them.", "note")
    doc.heading("Pictures")
    for plot in plots:
        doc.image(directory / "plots" / plot.name, plot.title, f"plots/{plot.name}")
    doc.para(record.get("note", ""), "note")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Sweep {html.escape(record['scenario'])}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(doc.html) + IMAGE_CHECK_JS + "\n</body></html>\n")
    return page, "\n".join(doc.md) + "\n"


def write_sweep_report(directory, record: dict, plots, columns: dict) -> list[str]:
    directory = Path(directory)
    page, md = build_sweep_report(directory, record, plots, columns)
    _atomic_bytes(directory / "report.html", page.encode())
    _atomic_bytes(directory / "report.md", md.encode())
    return ["report.html", "report.md"]
