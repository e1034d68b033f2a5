"""The inverse plan (``ablation plan``) as files, written as a whole like a run's result
(:class:`ablation.output.files.AtomicOutput`): plan.json (with the manifest of the others),
plan_scenario.toml (a runnable scenario of the plan: ``ablation run plan_scenario.toml``),
plots/layout.png, plots/margins.png, plots/approaches.png, report.html and report.md."""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from ablation.outcome import coverage as cov
from ablation.output.files import AtomicOutput
from ablation.output.plots import PALETTE, _plt
from ablation.output.report import CSS, DISCLAIMER, IMAGE_CHECK_JS, Doc, fmt
from ablation.planning.verify import plan_raw
from ablation.planning.zones import MM, probe_frame


def write_plan(out, outcome, scenario, *, force: bool = False) -> Path:
    """Every file of a plan into ``out`` (checked, locked, replaced as a whole)."""
    import tomli_w
    report, spec = outcome.report, outcome.spec
    first = spec.approaches[0]
    layout = outcome.layouts[first]
    with AtomicOutput(out, kind="plan", force=force) as output:
        folder = output.path
        raw = plan_raw(scenario, layout, first, spec.verify_samples, spec.seed, spec.spacing, spec.spacing_3d)
        raw["name"] = f"{scenario.name}-plan"
        raw["description"] = (f"Plan from ablation plan for {scenario.name}: {layout.count} probe(s), "
                              f"{layout.duration / 60:g} min, approach {first}. Research use only.")
        (folder / "plan_scenario.toml").write_text(tomli_w.dumps(raw))
        (folder / "plots").mkdir()
        pictures = [plot_layout(outcome, folder / "plots" / "layout.png"),
                    plot_margins(outcome, folder / "plots" / "margins.png"),
                    plot_approaches(report, folder / "plots" / "approaches.png")]
        write_plan_report(folder, report, [p for p in pictures if p is not None])
        output.finish("plan.json", report)
    return Path(out)


# ------------------------------------------------------------------------------------------ pictures
def _plane_grid(centre, u, v, half, n=161):
    a = np.linspace(-half, half, n)
    A, B = np.meshgrid(a, a, indexing="xy")
    pts = centre[:, None] + u[:, None] * A.ravel() + v[:, None] * B.ravel()
    return A / MM, B / MM, pts


def plot_layout(outcome, path) -> tuple | None:
    """Sections through the tumours' centre: along the plan's direction and across it, with the
    tumours, tumour + margin, the solved lethal zone and the probes."""
    spec = outcome.spec
    first = spec.approaches[0]
    layout = outcome.layouts[first]
    solved = outcome.solved.get(first)
    plt = _plt()
    frame = probe_frame(spec.direction)
    centre = np.mean([t.center for t in spec.tumors], axis=0)
    half = spec.tumour_radius + spec.margin + 15 * MM
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
    lesion = None
    if solved is not None:
        r = solved.result
        lesion = cov.Lesion.from_fields(r.domain, r.fields, r.summary["lesion"]["criterion"])
    views = [("along the probes (e1, d)", frame[:, 0], frame[:, 2]), ("across the probes (e1, e2)", frame[:, 0],
                                                                      frame[:, 1])]
    for ax, (title, u, v) in zip(axes, views):
        A, B, pts = _plane_grid(centre, u, v, half)
        dist = np.min([t.signed_distance(pts) for t in spec.tumors], axis=0).reshape(A.shape)
        ax.contourf(A, B, dist, levels=[-1, 0], colors=["#E69F00"], alpha=0.5)
        ax.contour(A, B, dist, levels=[spec.margin], colors=["#D55E00"], linestyles="--", linewidths=1.2)
        if lesion is not None:
            level = lesion.level(lesion.coords(pts)).reshape(A.shape)
            ax.contour(A, B, level, levels=[0.0], colors=["#0072B2"], linewidths=2)
        for k in range(layout.count):
            tip, d = layout.tips[k], layout.directions[k]
            active = scenario_active_length(outcome)
            ends = [tip - d * active, tip]
            shaft = [tip - d * active, tip - d * 3 * half]
            for seg, style in ((ends, "-"), (shaft, ":")):
                xy = [((p - centre) @ u / MM, (p - centre) @ v / MM) for p in seg]
                ax.plot([xy[0][0], xy[1][0]], [xy[0][1], xy[1][1]], style, color="k", lw=2.5 if style == "-" else 1)
            ax.plot((tip - centre) @ u / MM, (tip - centre) @ v / MM, "o", color="k", ms=4)
        ax.set_xlim(-half / MM, half / MM)
        ax.set_ylim(-half / MM, half / MM)
        ax.set_aspect("equal")
        ax.set_title(title)
        ax.set_xlabel("mm")
        ax.set_ylabel("mm")
    axes[0].plot([], [], color="#E69F00", lw=6, alpha=0.5, label="tumour")
    axes[0].plot([], [], "--", color="#D55E00", label=f"tumour + {spec.margin / MM:g} mm")
    if lesion is not None:
        axes[0].plot([], [], color="#0072B2", lw=2, label="lethal zone (solved plan)")
    axes[0].plot([], [], color="k", lw=2.5, label="active part; dotted: shaft")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle(f"Plan ({first}): {layout.count} probe(s), {layout.duration / 60:g} min", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return (path, f"Layout of the plan ({first}): sections through the tumours' centre")


def scenario_active_length(outcome) -> float:
    return float(outcome.report["device"]["active_length_mm"]) * MM


def plot_margins(outcome, path) -> tuple | None:
    """Distribution of the minimal ablative margin over placement samples: plan and naive plan,
    per approach (the verified Monte Carlo)."""
    if not outcome.solved or outcome.naive is None:
        return None
    plt = _plt()
    spec = outcome.spec
    fig, axes = plt.subplots(1, len(spec.approaches), figsize=(4.2 * len(spec.approaches), 3.6), squeeze=False)
    for ax, approach in zip(axes[0], spec.approaches):
        plan_v = outcome.solved.get(approach)
        bins = None
        for label, v, colour in (("plan", plan_v, PALETTE[0]), ("naive", outcome.naive, PALETTE[1])):
            if v is None:
                continue
            mam = v.per_approach[approach]["mam_mm"]
            mam = mam[np.isfinite(mam)]
            if bins is None:
                lo = min(float(np.min(mam)), -5.0)
                hi = max(float(np.max(mam)), spec.margin / MM + 5)
                bins = np.linspace(lo, hi, 40)
            ax.hist(mam, bins=bins, alpha=0.55, color=colour,
                    label=f"{label}: P(MAM >= {spec.margin / MM:g}) = {np.mean(mam >= spec.margin / MM):.3f}")
        ax.axvline(spec.margin / MM, color="k", ls="--", lw=1)
        ax.axvline(0.0, color="#999", ls=":", lw=1)
        ax.set_title(approach)
        ax.set_xlabel("minimal ablative margin (mm)")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("samples")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return (path, "Margin coverage: minimal ablative margin over placement samples, plan vs naive plan")


def plot_approaches(report: dict, path) -> tuple | None:
    """Objective (95 % interval) of each approach's plan and of the naive plan, with probe counts."""
    rows = [r for r in report["approaches"] if r.get("objective") is not None or r.get("surrogate_objective") is not None]
    if not rows:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    x = np.arange(len(rows))
    for offset, key, label, colour in ((-0.18, "objective", "plan", PALETTE[0]),
                                       (0.18, "naive_objective", "naive", PALETTE[1])):
        values = [r.get(key, r.get("surrogate_objective" if key == "objective" else "naive_surrogate_objective"))
                  for r in rows]
        ci = [r.get(key + "_ci95") for r in rows]
        err = np.array([[v - c[0], c[1] - v] if c else [0, 0] for v, c in zip(values, ci)]).T
        ax.bar(x + offset, values, 0.34, yerr=err, color=colour, label=label, capsize=3)
    for i, r in enumerate(rows):
        n = r["probes_needed"] if r["probes_needed"] is not None else f">{report['constraints']['max_probes']}"
        ax.text(i - 0.18, 0.02, f"{n}", ha="center", va="bottom", color="w", fontsize=9, fontweight="bold")
    ax.axhline(report["objective"]["target"], color="k", ls="--", lw=1)
    ax.set_xticks(x, [r["approach"] for r in rows])
    ax.set_ylabel(report["objective"]["name"])
    ax.set_title("Per approach: plan (probes needed in the bar) vs naive")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return (path, "Approaches side by side: the plan's objective and probes needed, and the naive plan's")


# ------------------------------------------------------------------------------------------ report
def plan_section(doc: Doc, report: dict) -> None:
    """The plan section of a report (also usable inside other reports)."""
    p, n = report["plan"], report["naive"]
    obj = report["objective"]
    doc.heading("Inverse plan", 2)
    doc.para(f"Objective: {obj['name']}, target {obj['target']:g}; secondary cost: {obj['secondary_cost']}. "
             f"Approach of the plan: {p['approach']}.")
    if report["device"].get("note"):
        doc.para(f"Device: {report['device']['note']}.", cls="note")
    doc.table(["", "probes", "duration (min)", "objective", "95 % interval", "method"],
              [["plan", p["count"], fmt(p["protocol"]["duration_min"]), fmt(p["objective"]),
                fmt(p["objective_ci95"]), p.get("method", "")],
               ["naive plan", 1, fmt(n["protocol"]["duration_min"]), fmt(n["objective"]), fmt(n["objective_ci95"]),
                n.get("definition", "")]], numeric=(1, 2, 3))
    doc.table(["probe", "tip (mm)", "direction"],
              [[k + 1, fmt(pr["tip_mm"]), fmt(pr["direction"])] for k, pr in enumerate(p["probes"])])
    if "surrogate_error_nominal_mam_mm" in p:
        doc.para(f"Surrogate check: nominal MAM {fmt(p['surrogate']['nominal_mam_mm'])} mm in the search's surrogate, "
                 f"{fmt(p['solved_nominal_mam_mm'])} mm in the solved plan (difference "
                 f"{fmt(p['surrogate_error_nominal_mam_mm'])} mm); surrogate objective {fmt(p['surrogate']['objective'])}.",
                 cls="note")
    check = p.get("independent_errors")
    if check:
        doc.para(f"Independent placement errors, re-solved: {check['samples']} samples solved afresh with every "
                 f"probe its own error give {fmt(check['value'])} ({fmt(check['ci95'])}); the rigid shift on the same "
                 f"draws gives {fmt(check['rigid_shift_same_samples'])}; MAM re-solved minus rigid "
                 f"{fmt(check['mam_minus_rigid_mm']['mean'])} +/- {fmt(check['mam_minus_rigid_mm']['sd'])} mm.",
                 cls="note")
    for note in p.get("notes", []):
        doc.para(note, cls="note")
    doc.heading("Approaches side by side", 3)
    rows = []
    for r in report["approaches"]:
        rows.append([r["approach"], r["probes_needed"] if r["probes_needed"] is not None else
                     f"not reached with {report['constraints']['max_probes']}", fmt(r.get("duration_min")),
                     fmt(r.get("objective", r.get("surrogate_objective"))), fmt(r.get("objective_ci95")),
                     fmt(r.get("naive_objective", r.get("naive_surrogate_objective"))), fmt(r.get("naive_objective_ci95"))])
    doc.table(["approach", "probes needed", "duration (min)", "plan objective", "95 %", "naive objective", "95 %"],
              rows, numeric=(2, 3, 5))
    counts = sorted({int(n) for r in report["approaches"] for n in r.get("solved_counts", {})})
    if counts:
        doc.para("Each probe count's best solved layout (3-D, every probe at once), moved rigidly by each approach's "
                 "placement error: the plans and the probes needed above are chosen on these values where they "
                 "beat the searched plan.", cls="note")
        doc.table(["probes", "nominal MAM (mm)", *[r["approach"] for r in report["approaches"]]],
                  [[n, fmt(report["approaches"][0]["solved_counts"][str(n)]["nominal_mam_mm"]),
                    *[fmt(r["solved_counts"][str(n)]["objective"]) for r in report["approaches"]]] for n in counts],
                  numeric=tuple(range(1, 2 + len(report["approaches"]))))
    doc.heading("Local tumour progression (research context, not advice)", 3)
    doc.para(report["context_not_advice"], cls="warn")
    risk_rows = []
    for r in report["approaches"]:
        for label, key in (("plan", "risk"), ("naive", "naive_risk")):
            risk = r.get(key)
            if not risk or "wang_2013" not in risk:
                continue
            hz = {h["relation"]: h for h in risk["hazard_per_mm"]["relations"]}
            laimer = hz.get("Laimer 2025, Ablation-fit", {})
            risk_rows.append([r["approach"], label, fmt(risk["wang_2013"]["expected_ltp_2y"]),
                              fmt(laimer.get("relative_hazard_vs_5mm")), fmt(laimer.get("relative_hazard_ci95")),
                              fmt(risk["chlorogiannis_2023"]["relative_risk_vs_all_5mm"]),
                              fmt(risk["chlorogiannis_2023"]["relative_risk_ci95"])])
    doc.table(["approach", "plan", "2-year LTP, Wang 2013 classes", "hazard vs 5 mm, Laimer 2025 (per mm)", "95 %",
               "risk vs all >= 5 mm, Chlorogiannis 2023", "95 %"], risk_rows)
    doc.para("Sources: Wang X et al., Cardiovasc Intervent Radiol 2013;36(1):166-175 (2-year LTP-free survival 26, 46, "
             "74, 80 % for margins 0, 1-5, 6-10, 11-15 mm); Laimer G et al., Eur Radiol 2025;35(2):1046-1056 (HR 0.47, "
             "95 % CI 0.36-0.61 for 3-D MAM, read as per mm); Chlorogiannis DD et al., Cancers 2023;15(24):5806 (risk "
             "ratio 3.60, 2.58-5.03, for margins < 5 mm). The relations disagree by a factor of several: read their "
             "spread as the uncertainty.", cls="note")


def write_plan_report(folder: Path, report: dict, pictures: list) -> None:
    doc = Doc()
    doc.raw(f'<p class="disclaimer">{html.escape(DISCLAIMER)}</p>', f"> **{DISCLAIMER}**\n")
    doc.heading(f"Plan: {report['scenario']}", 1)
    plan_section(doc, report)
    doc.heading("Pictures", 2)
    for path, caption in pictures:
        doc.image(path, caption, f"plots/{Path(path).name}")
    doc.heading("Zone library and search", 2)
    doc.table(["duration (min)", "volume (mL)", "axial extent (mm)", "radius (mm)", "solve (s)", "source"],
              [[fmt(z["duration_s"] / 60), fmt(z["volume_ml"]), fmt(z["axial_extent_mm"]), fmt(z["radius_mm"]),
                fmt(z["solve_s"]), z["source"]] for z in report["zone_library"]])
    interaction = report.get("interaction") or {}
    if interaction.get("used") and interaction.get("solves"):
        doc.heading("Interaction solves", 3)
        doc.para("Several probes interact (shared RF current, merging iceballs): the search's surrogate was "
                 "corrected by fresh 3-D solves of its own best layouts. 'Predicted' is the surrogate's nominal MAM "
                 "for the layout before its solve (corrected by the earlier solve where there was one).", cls="note")
        doc.table(["probes", "duration (min)", "surrogate alone (mm)", "predicted (mm)", "solved (mm)", "solve (s)"],
                  [[r["count"], fmt(r["duration_min"]), fmt(r["surrogate_nominal_mm"]),
                    fmt(r["predicted_nominal_mm"]) + ("" if r["prediction_was_corrected"] else " (uncorrected)"),
                    fmt(r["solved_nominal_mm"]), fmt(r["solve_s"])] for r in interaction["solves"]],
                  numeric=(1, 2, 4, 5))
    s = report["search"]
    doc.para(f"Search: {s['samples']} placement samples with common random numbers (seed {s['seed']}), "
             f"{s['iterations']} differential-evolution generations per probe count and duration; evaluations "
             f"{s['evaluations']}; {fmt(s['search_s'])} s.", cls="note")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Plan: {html.escape(report['scenario'])}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(doc.html) + IMAGE_CHECK_JS + "\n</body></html>\n")
    (folder / "report.html").write_text(page)
    (folder / "report.md").write_text("\n".join(doc.md) + "\n")
