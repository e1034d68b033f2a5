"""Pictures of a sweep (matplotlib, files under DIR/plots/): the indices of every metric (Sobol S1
and ST bars with their intervals, or a Morris mu* tornado), each metric against each parameter,
and the distribution of each metric. The numbers come from :mod:`ablation.sweep.analysis`; this
module only draws them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ablation.output.plots import PALETTE, Plot, _plt, _wrap
from ablation.sweep.spec import metric_unit


def _numeric(values) -> np.ndarray | None:
    try:
        return np.asarray(values, float)
    except (TypeError, ValueError):
        return None


def _draw_sobol(ax, entry: dict) -> None:
    values = entry["parameters"]
    names = sorted(values, key=lambda n: values[n]["ST"])
    y = np.arange(len(names))
    for shift, key, colour in ((-0.18, "S1", PALETTE[0]), (0.18, "ST", PALETTE[1])):
        ax.barh(y + shift, [values[n][key] for n in names], 0.34, xerr=[values[n][key + "_conf"] for n in names],
                color=colour, capsize=2, label={"S1": "first order S1", "ST": "total ST"}[key])
    ax.set_yticks(y, names, fontsize=7)
    ax.axvline(0, color="k", lw=0.6)


def _draw_morris(ax, entry: dict) -> None:
    values = entry["parameters"]
    names = sorted(values, key=lambda n: values[n]["mu_star"])
    y = np.arange(len(names))
    ax.barh(y, [values[n]["mu_star"] for n in names], 0.6, xerr=[values[n]["mu_star_conf"] for n in names],
            color=PALETTE[0], capsize=2)
    ax.set_yticks(y, names, fontsize=7)


def plot_indices(path, indices: dict) -> Plot | None:
    """One panel per metric: Sobol S1 and ST per parameter with their interval bars, or the Morris
    mu* tornado (sorted, largest on top)."""
    shown = {m: e for m, e in indices.items() if e.get("available")}
    if not shown:
        return None
    plt = _plt()
    cols = min(3, len(shown))
    rows = (len(shown) + cols - 1) // cols
    n_par = len(next(iter(shown.values()))["parameters"])
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, (0.9 + 0.35 * n_par) * rows), squeeze=False)
    method = next(iter(shown.values()))["method"]
    for k, (metric, entry) in enumerate(shown.items()):
        ax = axes[k // cols][k % cols]
        (_draw_sobol if entry["method"] == "sobol" else _draw_morris)(ax, entry)
        unit = "" if entry["method"] == "sobol" else f" ({metric_unit(metric)} per range)"
        ax.set_title(metric + unit, fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
    for k in range(len(shown), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    confidence = next(iter(shown.values()))["confidence"]
    if method == "sobol":
        axes[0][0].legend(fontsize=7, loc="lower right")
        title = f"Sobol indices, first order and total ({100 * confidence:.0f} % bootstrap intervals)"
    else:
        title = f"Morris screening: mu* per parameter ({100 * confidence:.0f} % bootstrap intervals)"
    fig.suptitle(_wrap(title, 90), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return Plot(Path(path).name, title, list(shown))


def plot_scatter(path, metrics: list, names: list, columns: dict) -> Plot | None:
    """Each metric (rows) against each numeric parameter (columns)."""
    params = [n for n in names if _numeric(columns[n]) is not None]
    shown = [m for m in metrics if _numeric(columns[m]) is not None and np.isfinite(_numeric(columns[m])).any()]
    if not params or not shown:
        return None
    plt = _plt()
    fig, axes = plt.subplots(len(shown), len(params), figsize=(2.3 * len(params) + 0.8, 1.7 * len(shown) + 0.6),
                             squeeze=False, sharex="col", sharey="row")
    for r, metric in enumerate(shown):
        y = _numeric(columns[metric])
        for c, name in enumerate(params):
            ax = axes[r][c]
            ax.scatter(_numeric(columns[name]), y, s=4, alpha=0.6, color=PALETTE[c % len(PALETTE)], linewidths=0)
            ax.tick_params(labelsize=6)
            if c == 0:
                ax.set_ylabel(_wrap(f"{metric} ({metric_unit(metric)})", 22), fontsize=6)
            if r == len(shown) - 1:
                ax.set_xlabel(name, fontsize=7)
    title = "each metric against each parameter"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / fig.get_figheight()))     # room for the title
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return Plot(Path(path).name, title, params)


def plot_distributions(path, metrics: list, columns: dict) -> Plot | None:
    """A histogram of every metric over the samples."""
    shown = [m for m in metrics if _numeric(columns[m]) is not None and np.isfinite(_numeric(columns[m])).any()]
    if not shown:
        return None
    plt = _plt()
    cols = min(3, len(shown))
    rows = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.7 * rows), squeeze=False)
    for k, m in enumerate(shown):
        ax = axes[k // cols][k % cols]
        v = _numeric(columns[m])
        ax.hist(v[np.isfinite(v)], bins=min(30, max(5, int(np.sqrt(np.isfinite(v).sum())))), color=PALETTE[0])
        ax.set_xlabel(f"{m} ({metric_unit(m)})", fontsize=8)
        ax.tick_params(labelsize=7)
    for k in range(len(shown), rows * cols):
        axes[k // cols][k % cols].set_visible(False)
    title = "distribution of each metric over the samples"
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return Plot(Path(path).name, title, shown)


def plot_approaches(path, approaches: dict) -> Plot | None:
    """P(technical success) and P(MAM >= 5 mm) per approach with their intervals."""
    if not approaches:
        return None
    plt = _plt()
    names = list(approaches)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    x = np.arange(len(names))
    for shift, key, colour, label in ((-0.18, "p_technical_success", PALETTE[0], "P(technical success)"),
                                      (0.18, "p_margin_5mm", PALETTE[1], "P(MAM >= 5 mm)")):
        est = [approaches[a].get(key, {}).get("p") or 0.0 for a in names]
        lo = [e - (approaches[a].get(key, {}).get("interval", [e, e])[0] or e) for e, a in zip(est, names)]
        hi = [(approaches[a].get(key, {}).get("interval", [e, e])[1] or e) - e for e, a in zip(est, names)]
        ax.bar(x + shift, est, 0.34, yerr=[lo, hi], color=colour, capsize=3, label=label)
    ax.set_xticks(x, names)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("probability over the swept parameters")
    ax.legend(fontsize=8)
    title = "placement outcome per approach, parameter spread folded in"
    ax.set_title(_wrap(title), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Plot(Path(path).name, title, names)


def draw_all(folder, spec, columns: dict, result: dict) -> list[Plot]:
    """indices.png (sensitivity mode), approaches.png, scatter.png, distributions.png."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    drawn = [plot_indices(folder / "indices.png", result.get("indices") or {}),
             plot_approaches(folder / "approaches.png", result.get("approaches") or {}),
             plot_scatter(folder / "scatter.png", list(spec.metrics), spec.names, columns),
             plot_distributions(folder / "distributions.png", list(spec.metrics), columns)]
    return [d for d in drawn if d is not None]
