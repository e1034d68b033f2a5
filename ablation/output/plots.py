"""Plots of a result (matplotlib, off-screen 'Agg' backend): device curves, lesion growth,
placement distributions, shell coverage and the approach comparison. Each plot is made only when
its data exists, found by the columns' unit suffixes, so RFA, cryo and generic thermal results use
the same code:

* ``device.png``: power (``*_W``), impedance (``*_ohm``), voltage and current (``*_V``, ``*_A``),
  temperatures (``*_C``: tip, probe walls, tissue extremes) over time;
* ``volumes.png``: every ``*_volume_ml`` column (lesion for every modality; iceball and lethal
  volume for cryo) over time;
* ``placement.png``: distributions of coverage and minimal margin over placement samples;
* ``shells.png``: coverage of the tumour dilated by m mm and of each 1 mm shell;
* ``comparison.png``: probabilities per approach from ``ablation compare`` (comparison.json);
* ``validation_parity.png``: the run's zone model against the published rows of its modality (the
  table benchmarks/validation/published_rows.py wrote for that model, shipped with the package).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ablation.run.result import PlacementSamples
from ablation.run.summary import Summary

# Okabe & Ito (2008) colour-blind-safe palette, cycled for curves
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]


@dataclass
class Plot:
    name: str            # file name inside plots/
    title: str
    panels: list         # panel titles, for the report and tests


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _finite(values) -> bool:
    a = np.asarray(values, float)
    return a.size > 0 and bool(np.isfinite(a).any())


UNITS = {"_C": "degC", "_W": "W", "_ohm": "ohm", "_V": "V", "_A": "A", "_ml": "mL", "_s": "s", "_J": "J"}


def _label(column: str) -> str:
    """'probe1_wall_C' -> 'probe1 wall (degC)': the unit suffix of a column in words."""
    for suffix, unit in UNITS.items():
        if column.endswith(suffix):
            return f"{column[:-len(suffix)].replace('_', ' ')} ({unit})"
    return column.replace("_", " ")


def _wrap(title: str, width: int = 60) -> str:
    """A long title on several lines (with bbox_inches='tight' on saving, no title is clipped)."""
    import textwrap
    return "\n".join(textwrap.fill(line, width) for line in title.split("\n"))


def _short(name, width: int = 40) -> str:
    """A name cut to ``width`` characters for a legend entry, which matplotlib does not wrap."""
    text = str(name)
    return text if len(text) <= width else text[:width - 3].rstrip() + "..."


def complete_fraction(samples: PlacementSamples) -> float:
    """Fraction of samples counted complete: technical success, the definition behind the summary's
    p_technical_success (not coverage >= 100 %, which ignores the margin rule)."""
    return float(np.mean(np.asarray(samples.technical_success, bool)))


def _columns(series: dict, suffix: str, exclude=()) -> list[str]:
    return [c for c in series if c.endswith(suffix) and c not in exclude and _finite(series[c])]


def device_panels(series: dict) -> list[tuple[str, str, list[str]]]:
    """(title, y label, columns) for each device panel that has data."""
    temps = [c for c in _columns(series, "_C") if "volume" not in c]
    # the device's own temperatures first (tip sensor, probe walls), then the tissue extremes
    temps.sort(key=lambda c: (c in ("max_temperature_C", "min_temperature_C"), c))
    panels = [("power", "power (W)", _columns(series, "_W")),
              ("impedance", "impedance (ohm)", _columns(series, "_ohm")),
              ("voltage", "voltage (V)", _columns(series, "_V")),
              ("current", "current (A)", _columns(series, "_A")),
              ("temperatures", "temperature (degC)", temps)]
    return [p for p in panels if p[2]]


def plot_device(series: dict, path) -> Plot | None:
    """Power, impedance, voltage, current and temperatures over time, one panel each."""
    if "time_s" not in series:
        return None
    panels = device_panels(series)
    if not panels:
        return None
    plt = _plt()
    t = np.asarray(series["time_s"], float) / 60.0
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.2 * len(panels) + 0.6), sharex=True, squeeze=False)
    for ax, (title, ylabel, columns) in zip(axes[:, 0], panels):
        for k, c in enumerate(columns):
            ax.plot(t, np.asarray(series[c], float), color=PALETTE[k % len(PALETTE)], lw=1.5, label=_label(c))
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    axes[-1, 0].set_xlabel("time (min)")
    fig.suptitle("device and temperatures over time")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Plot(Path(path).name, "Device and temperatures over time", [p[0] for p in panels])


def plot_volumes(series: dict, path) -> Plot | None:
    """Every *_volume_ml column over time: lesion growth (all modalities), iceball and lethal
    volumes (cryo)."""
    columns = _columns(series, "_volume_ml")
    if "time_s" not in series or not columns:
        return None
    plt = _plt()
    t = np.asarray(series["time_s"], float) / 60.0
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for k, c in enumerate(columns):
        ax.plot(t, np.asarray(series[c], float), color=PALETTE[k % len(PALETTE)], lw=1.8, label=_label(c))
    ax.set_xlabel("time (min)")
    ax.set_ylabel("volume (mL)")
    ax.set_title("lesion growth" + (" and iceball" if any("ice" in c for c in columns) else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Plot(Path(path).name, "Lesion growth", columns)


# ------------------------------------------------------------------------- placement samples
def _as_array(value):
    if value is None:
        return None
    try:
        a = np.asarray(value, float)
    except (TypeError, ValueError):
        return None
    return a if a.ndim >= 1 and a.size else None


def placement_samples(result) -> dict[str, PlacementSamples]:
    """Placement samples per tumour from the run's Monte Carlo, or from placement_samples.csv of
    a result folder; empty when the Monte Carlo did not run."""
    if result.placement_samples:
        return dict(result.placement_samples)
    out = {}
    path = Path(result.directory) / "placement_samples.csv" if result.directory is not None else None
    if path is not None and path.exists():
        table = _read_csv(path)
        for name in dict.fromkeys(table.get("tumor", [])):
            rows = [k for k, v in enumerate(table["tumor"]) if v == name]
            column = {key: np.array([float(table[key][k]) for k in rows])
                      for key in ("coverage", "min_margin_mm", "technical_success")}
            out[name] = PlacementSamples(column["coverage"], column["min_margin_mm"],
                                         column["technical_success"] > 0.5)
    return out


def _read_csv(path) -> dict:
    import csv
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    table = {c: [] for c in header}
    for r in rows[1:]:
        for c, v in zip(header, r):
            try:
                table[c].append(float(v))
            except ValueError:
                table[c].append(v)
    return table


def plot_placement(samples: dict[str, PlacementSamples], path) -> Plot | None:
    """Histograms of coverage (%) and minimal margin (mm) over placement samples, per tumour, with
    the margin-class limits 0, 5 and 10 mm and the fraction of samples beyond each."""
    if not samples:
        return None
    plt = _plt()
    fig, axes = plt.subplots(len(samples), 2, figsize=(10, 3.0 * len(samples) + 0.5), squeeze=False)
    for row, (name, s) in zip(axes, samples.items()):
        cov, mar = np.asarray(s.coverage, float), np.asarray(s.min_margin_mm, float)
        ax = row[0]
        if np.isfinite(cov).any():
            c = 100.0 * cov[np.isfinite(cov)]
            ax.hist(c, bins=np.linspace(min(c.min(), 90.0), 100.0, 31), color=PALETTE[0])
            ax.set_title(_wrap(f"{name}: tumour coverage, {c.size} samples; complete (technical success, as "
                               f"p_technical_success) in {100 * complete_fraction(s):.1f} %"), fontsize=9)
        ax.set_xlabel("coverage (%)")
        ax.set_ylabel("samples")
        ax = row[1]
        if np.isfinite(mar).any():
            m = mar[np.isfinite(mar)]
            ax.hist(m, bins=40, color=PALETTE[1])
            for limit in (0.0, 5.0, 10.0):
                ax.axvline(limit, color="black", lw=1, ls="--")
            ax.set_title(_wrap(f"{name}: minimal margin; >= 0 mm {100 * np.mean(m >= 0):.1f} %, "
                               f">= 5 mm {100 * np.mean(m >= 5):.1f} %, >= 10 mm {100 * np.mean(m >= 10):.1f} %"),
                         fontsize=9)
        ax.set_xlabel("minimal ablative margin (mm)")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Plot(Path(path).name, "Coverage and minimal margin over placement samples", list(samples))


def plot_shells(summary: Summary, path) -> Plot | None:
    """Coverage of each 1 mm shell around each tumour, and of the tumour dilated by m mm."""
    tumors = [t for t in summary.tumors or [] if t.get("shell_coverage") or t.get("margin_coverage")]
    if not tumors:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for k, t in enumerate(tumors):
        color = PALETTE[k % len(PALETTE)]
        shells = sorted(((float(m), v) for m, v in (t.get("shell_coverage") or {}).items() if v is not None))
        if shells:
            ax.plot([m for m, _ in shells], [100 * v for _, v in shells], "o-", color=color,
                    label=f"{_short(t.get('name', k + 1))}: shell (m-1, m] mm")
        dil = sorted(((float(m), v) for m, v in (t.get("margin_coverage") or {}).items() if v is not None))
        if dil:
            ax.plot([m for m, _ in dil], [100 * v for _, v in dil], "s--", color=color, ms=7,
                    label=f"{_short(t.get('name', k + 1))}: tumour + m mm")
    ax.set_xlabel("distance from the tumour surface m (mm)")
    ax.set_ylabel("inside the lesion (%)")
    ax.set_ylim(-2, 102)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("margin coverage")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Plot(Path(path).name, "Margin coverage by distance from the tumour", [t.get("name") for t in tumors])


# ---------------------------------------------------------------------------- comparison
def comparison_rows(comparison) -> list[dict]:
    """Rows {label, metrics {name: p}, ci {name: (lo, hi)}} from comparison.json, whatever its
    nesting: a list of rows, a mapping holding such a list, or a mapping label -> row."""
    rows = None
    if isinstance(comparison, list):
        rows = comparison
    elif isinstance(comparison, dict):
        rows = next((v for v in comparison.values() if isinstance(v, list) and v and isinstance(v[0], dict)), None)
        if rows is None:
            rows = [dict(v, label=k) for k, v in comparison.items() if isinstance(v, dict)]
    out = []
    for row in rows or []:
        label = row.get("label") or str(row.get("approach", row.get("name", "?")))
        if row.get("pringle") or row.get("inflow_occlusion"):
            label += " + Pringle"
        if row.get("insertions") not in (None, 1):
            label += f", {row['insertions']} insertions"
        metrics = {k: float(v) for k, v in row.items() if k.startswith("p_") and isinstance(v, (int, float))}
        ci = {k: tuple(v) for k, v in (row.get("ci95") or {}).items() if isinstance(v, (list, tuple)) and len(v) == 2}
        if metrics:
            out.append({"label": label, "metrics": metrics, "ci": ci})
    return out


def plot_comparison(comparison, path) -> Plot | None:
    """Grouped bars of each probability (P(technical success), P(margin >= 5 mm), ...) per
    approach, with 95 % intervals where given."""
    rows = comparison_rows(comparison)
    if not rows:
        return None
    plt = _plt()
    metrics = sorted({m for r in rows for m in r["metrics"]}, key=lambda m: (m != "p_technical_success", m))
    fig, ax = plt.subplots(figsize=(max(7, 1.4 * len(rows) * len(metrics) / 2 + 3), 4))
    width = 0.8 / len(metrics)
    x = np.arange(len(rows))
    for k, m in enumerate(metrics):
        values = np.array([r["metrics"].get(m, np.nan) for r in rows])
        lo = np.array([r["ci"].get(m, (v, v))[0] for r, v in zip(rows, values)])
        hi = np.array([r["ci"].get(m, (v, v))[1] for r, v in zip(rows, values)])
        xs = x + (k - (len(metrics) - 1) / 2) * width
        ax.bar(xs, values, width, color=PALETTE[k % len(PALETTE)],
               label=m.replace("p_", "P(").replace("_", " ") + ")")
        ax.errorbar(xs, values, yerr=[np.clip(values - lo, 0, None), np.clip(hi - values, 0, None)],
                    fmt="none", ecolor="black", elinewidth=1.2, capsize=3)
    ax.set_xticks(x, [r["label"] for r in rows], rotation=15, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("probability")
    ax.set_title("approach comparison (error bars: 95 % intervals)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Plot(Path(path).name, "Approach comparison", [r["label"] for r in rows])


def load_comparison(directory):
    path = Path(directory) / "comparison.json"
    if path.exists():
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:
            return None
    return None


def published_rows_table(model: str) -> dict | None:
    """The published-rows table of a zone model shipped in benchmarks/results, or None."""
    import importlib
    try:
        folder = Path(next(iter(importlib.import_module("ablation.benchmarks").__path__))) / "results"
    except ModuleNotFoundError:
        return None
    path = folder / f"validation-published-rows-{model}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


#: legend of each row role in the parity plot
PARITY_ROLES = {"train": "train", "held_out": "held-out",
                "held_out_benchmark": "held-out, 3-D cluster benchmarks (multi-electrode, size against time)"}


def _parity_group(row: dict) -> str:
    """The parity plot's group of a table row: rows read from the cluster benchmarks' stored results
    (``from_benchmark``) apart from the rows the table solved."""
    return "held_out_benchmark" if row.get("from_benchmark") else row["role"]


def plot_parity(table: dict, path, before: dict | None = None, modality: str | None = None) -> Plot | None:
    """Model against published value per row (log-log): horizontal bar 2 x the published SD (20 %
    where none is given), vertical bar the model's 5-95 % zone band; training and held-out rows apart;
    ``before`` (another model's table) in grey."""
    def usable(t):
        return [r for r in t["rows"] if r.get("model") is not None and r.get("published")
                and r["model"] > 0 and r["published"] > 0 and (modality is None or r.get("modality") == modality)]
    rows = usable(table)
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 6.0))
    if before is not None and usable(before):
        old = usable(before)
        ax.plot([r["published"] for r in old], [r["model"] for r in old], "x", color="0.6",
                label=f"before: {before.get('model') or 'first version'} ({len(old)} rows)")
    for role, marker, colour in (("train", "s", PALETTE[1]), ("held_out", "o", PALETTE[0]),
                                 ("held_out_benchmark", "^", PALETTE[2])):
        chosen = [r for r in rows if _parity_group(r) == role]
        if not chosen:
            continue
        model = np.array([r["model"] for r in chosen])
        low = np.array([r.get("model_p5", r["model"]) for r in chosen])
        high = np.array([r.get("model_p95", r["model"]) for r in chosen])
        ratio = np.median(model / np.array([r["published"] for r in chosen]))
        ax.errorbar([r["published"] for r in chosen], model, xerr=[2.0 * r["sd_used"] for r in chosen],
                    yerr=[model - low, high - model], fmt=marker, color=colour, capsize=2,
                    label=f"{PARITY_ROLES[role]} ({len(chosen)} rows; model/published median {ratio:.2f})")
    values = [v for r in rows for v in (r["published"], r["model"])]
    lo, hi = min(values) / 1.5, max(values) * 1.5
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="model = published")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("published (the row's own unit; bar: +/- 2 SD)")
    ax.set_ylabel("model (bar: 5-95 % zone band)")
    what = f"{modality} rows" if modality else "rows"
    ax.set_title(_wrap(f"Published {what} vs zone model {table.get('model') or table.get('fitted', '?')} (generated "
                       f"{str(table.get('generated', '?'))[:10]})"), fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12))   # below: the points fill both corners
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Plot(Path(path).name, "Validation: published rows against this zone model", [what])


def _parity_of(result, path) -> Plot | None:
    """The parity plot of the run's zone model and modality, when a table for that model is shipped."""
    model = getattr(result.scenario, "model", None)
    table = published_rows_table(model) if model else None
    return plot_parity(table, path, modality=result.scenario.modality) if table else None


def write_plots(directory, result, comparison=None) -> list[Plot]:
    """Every plot whose data exists, into DIR/plots/; returns what was drawn."""
    directory = Path(directory)
    out_dir = directory / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    source = result.directory
    comparison = comparison if comparison is not None else load_comparison(source or directory)
    plots = [
        plot_device(result.timeseries, out_dir / "device.png"),
        plot_volumes(result.timeseries, out_dir / "volumes.png"),
        plot_placement(placement_samples(result), out_dir / "placement.png"),
        plot_shells(result.summary, out_dir / "shells.png"),
        plot_comparison(comparison, out_dir / "comparison.png") if comparison else None,
        _parity_of(result, out_dir / "validation_parity.png"),
    ]
    return [p for p in plots if p is not None]
