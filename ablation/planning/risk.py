"""Local tumour progression (LTP) from the minimal-ablative-margin (MAM) distribution, with
published relations between MAM and LTP after thermal ablation of colorectal liver metastases.

RESEARCH CONTEXT, NOT ADVICE: the relations come from retrospective clinical series (margins
measured on post-ablation CT, 2-D or by software co-registration, with their own errors; other
factors such as tumour size, RAS status and vessels confounded), applied here to *modelled* MAMs.
The numbers say how a modelled margin distribution would read on those series' scales, nothing
about a patient. No files, no screen.

Sources (every number below is quoted from the abstract named; what could not be confirmed is
said so):

* WANG_2013 - Wang X, Sofocleous CT, Erinjeri JP, et al. Margin size is an independent predictor
  of local tumor progression after ablation of colon cancer liver metastases. Cardiovasc Intervent
  Radiol 2013;36(1):166-175, doi:10.1007/s00270-012-0377-1 (PMC4122121). 94 CLM after CT-guided
  RFA; 2-year LTP-free survival 26, 46, 74 and 80 % for minimal margins 0, 1-5, 6-10 and 11-15 mm;
  the LTP risk fell by 46 % per 5 mm more margin (Cox, multivariable). Class sizes are not in the
  abstract, so the rates carry no interval here.
* LAIMER_2025 - Laimer G, Verdonschot KHM, Kopf L, et al. Multicenter and inter-software evaluation
  of ablative margins after thermal ablation of colorectal liver metastases. Eur Radiol
  2025;35(2):1046-1056, doi:10.1007/s00330-024-10956-5. 173 CRLM, 3-D MAM by software; 21 (12.1 %)
  LTP over a median 31 months; multivariable HR for 3-D MAM 0.47 (95 % CI 0.36-0.61, Ablation-fit)
  and 0.42 (0.32-0.55, SAFIR); no LTP with MAM >= 4 mm (Ablation-fit) or >= 5 mm (SAFIR). The
  abstract does not state the unit of the HR; it is read here as per 1 mm of MAM (unconfirmed).
* CHLOROGIANNIS_2023 - Chlorogiannis DD, Sotirchos VS, Georgiades C, et al. The importance of
  optimal thermal ablation margins in colorectal liver metastases: a systematic review and
  meta-analysis of 21 studies. Cancers 2023;15(24):5806, doi:10.3390/cancers15245806. 2873 CLM;
  margins < 5 mm: risk ratio of LTP 3.60 (95 % CI 2.58-5.03).
* MSKCC_RFA_MWA - retrospective review of 110 patients (RFA and MWA of CLM, margins on CT 6 weeks
  after ablation), PMC5803367 (authors and journal not confirmed here): margin <= 5 mm HR 14.6
  (5.2-40.9) for RFA, SHR 11.6 (3.1-42.7) for MWA; no LTP with margins over 10 mm.
"""
from __future__ import annotations

import numpy as np

DISCLAIMER = ("Research context, not advice: published relations between minimal ablative margin and local "
              "tumour progression in retrospective clinical series, applied to modelled margins.")

SOURCES = {
    "WANG_2013": "Wang X et al. Cardiovasc Intervent Radiol 2013;36(1):166-175, doi:10.1007/s00270-012-0377-1",
    "LAIMER_2025": "Laimer G et al. Eur Radiol 2025;35(2):1046-1056, doi:10.1007/s00330-024-10956-5",
    "CHLOROGIANNIS_2023": "Chlorogiannis DD et al. Cancers 2023;15(24):5806, doi:10.3390/cancers15245806",
    "MSKCC_RFA_MWA": "https://pmc.ncbi.nlm.nih.gov/articles/PMC5803367 (authors and journal not confirmed here)",
}

#: Wang et al. 2013: minimal-margin classes (upper bound, mm) and 2-year LTP (1 - LTP-free survival).
#: The last class is 11-15 mm in the series; larger modelled margins are put in it (assumption).
WANG_CLASSES = (("0 mm (<= 0)", 0.0, 1 - 0.26), ("1-5 mm", 5.0, 1 - 0.46), ("6-10 mm", 10.0, 1 - 0.74),
                ("> 10 mm", np.inf, 1 - 0.80))
#: Hazard ratios per mm of MAM: (name, central, low, high, source). Wang's 46 % lower risk per 5 mm
#: is 0.54 per 5 mm, 0.54 ** (1 / 5) per mm (no interval in the abstract).
HAZARD_PER_MM = (("Laimer 2025, Ablation-fit", 0.47, 0.36, 0.61, "LAIMER_2025"),
                 ("Laimer 2025, SAFIR", 0.42, 0.32, 0.55, "LAIMER_2025"),
                 ("Wang 2013 (0.54 per 5 mm)", 0.54 ** 0.2, None, None, "WANG_2013"))
#: The MAM range the hazard ratios are applied over (assumption: the series' margins reach about
#: 0-15 mm; a log-linear hazard is not extrapolated beyond it)
HAZARD_RANGE_MM = (0.0, 15.0)
#: Chlorogiannis et al. 2023: LTP risk ratio of margins < 5 mm against >= 5 mm
RR_BELOW_5MM = (3.60, 2.58, 5.03)


def ltp_risk(mam_mm: np.ndarray) -> dict:
    """Risk readings of a MAM sample (mm, one per placement sample) on the published scales."""
    mam = np.asarray(mam_mm, float)
    mam = mam[np.isfinite(mam)]
    out = {"context_not_advice": DISCLAIMER, "samples": int(mam.size), "sources": SOURCES}
    if mam.size == 0:
        out["note"] = "no finite MAM samples"
        return out
    # Wang 2013 classes: expected 2-year LTP (no interval: class sizes not in the abstract)
    lower = -np.inf
    classes, expected = [], 0.0
    for name, upper, ltp in WANG_CLASSES:
        p = float(np.mean((mam > lower) & (mam <= upper)))
        classes.append({"class": name, "probability": p, "ltp_2y": ltp})
        expected += p * ltp
        lower = upper
    out["wang_2013"] = {"classes": classes, "expected_ltp_2y": expected,
                        "uncertainty": "class rates from 94 tumours without per-class counts in the abstract: "
                                       "no interval; the series is 2-D CT, RFA, 2003-2010"}
    # hazard relative to a uniform 5 mm margin, log-linear per mm within HAZARD_RANGE_MM
    clipped = np.clip(mam, *HAZARD_RANGE_MM)
    rel = []
    for name, hr, lo, hi, source in HAZARD_PER_MM:
        entry = {"relation": name, "hr_per_mm": hr, "source": source,
                 "relative_hazard_vs_5mm": float(np.mean(hr ** (clipped - 5.0)))}
        if lo is not None:
            # a smaller HR per mm makes margins above 5 mm worth more and below 5 mm cost more
            a, b = float(np.mean(lo ** (clipped - 5.0))), float(np.mean(hi ** (clipped - 5.0)))
            entry["relative_hazard_ci95"] = [min(a, b), max(a, b)]
        rel.append(entry)
    out["hazard_per_mm"] = {"relations": rel, "range_mm": list(HAZARD_RANGE_MM),
                            "note": "mean over samples of HR^(MAM - 5 mm), MAM clipped to the range: the hazard "
                                    "relative to every placement giving exactly 5 mm (1 = the same)"}
    below = float(np.mean(mam < 5.0))
    rr, lo, hi = RR_BELOW_5MM
    out["chlorogiannis_2023"] = {"p_mam_below_5mm": below, "risk_ratio_below_5mm": rr,
                                 "relative_risk_vs_all_5mm": 1 + below * (rr - 1),
                                 "relative_risk_ci95": [1 + below * (lo - 1), 1 + below * (hi - 1)]}
    out["note"] = ("The relations disagree by a factor of several (2-D vs 3-D margin measurement, RFA vs MWA, "
                   "cohorts): read the spread between them as the uncertainty, not any single value.")
    return out
