#!/usr/bin/env python3
"""Reference values for HistoQuant's study statistics, computed independently with SciPy 1.10 and NumPy.

Run with Debian's python3 (python3-scipy): /usr/bin/python3 tests/reference/study_stats_reference.py
Writes tests/reference/study-stats-reference.json. Published values the tests also check (R's documentation
examples, Shrout & Fleiss 1979) are noted next to the data.
"""
import json
import numpy as np
from scipy import stats

out = {}

# Wilcoxon signed-rank. R ?wilcox.test (Hollander & Wolfe p. 29): V = 40, p-value = 0.03906.
x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
d = list(np.subtract(x, y))
r = stats.wilcoxon(d)
out["wilcoxon_exact"] = {"d": d, "statistic": float(r.statistic), "p": float(r.pvalue)}
# Ties and a zero: normal approximation with tie correction, zeros dropped, no continuity correction.
d2 = [2, -1, 3, 3, -2, 4, 0, 5, 2, 6, -3, 7]
r = stats.wilcoxon(d2, method="approx")
out["wilcoxon_ties"] = {"d": d2, "statistic": float(r.statistic), "p": float(r.pvalue)}
# Larger sample without ties: exact (n <= 50).
rng = np.random.default_rng(7)
d3 = list(np.round(rng.normal(0.4, 1.0, 30), 4))
r = stats.wilcoxon(d3)
out["wilcoxon_n30"] = {"d": d3, "statistic": float(r.statistic), "p": float(r.pvalue)}

# Mann-Whitney U. R ?wilcox.test: W = 35, one-sided p = 0.1272, so two-sided 0.2544.
a = [0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
b = [1.15, 0.88, 0.90, 0.74, 1.21]
r = stats.mannwhitneyu(a, b)
out["mannwhitney_exact"] = {"x": a, "y": b, "statistic": float(r.statistic), "p": float(r.pvalue)}
a2 = [3, 5, 5, 7, 9, 9, 9, 12, 14, 2, 6]
b2 = [1, 2, 2, 4, 5, 5, 8, 3, 4, 6]
r = stats.mannwhitneyu(a2, b2)
out["mannwhitney_ties"] = {"x": a2, "y": b2, "statistic": float(r.statistic), "p": float(r.pvalue)}

# Fisher's exact, two-sided. R ?fisher.test tea tasting: p-value = 0.4857.
out["fisher"] = [
    {"table": t, "p": float(stats.fisher_exact(t)[1])}
    for t in ([[3, 1], [1, 3]], [[8, 2], [1, 5]], [[0, 6], [5, 1]], [[10, 10], [10, 10]], [[1, 9], [11, 3]])
]

# Spearman with ties; p from t with n-2 df (SciPy), CI by Fisher z with SE sqrt(1.06/(n-3)).
sx = [2.1, 3.4, 1.9, 5.6, 4.4, 3.4, 6.1, 7.2, 2.8, 5.0]
sy = [10, 14, 9, 20, 15, 12, 25, 22, 13, 15]
r = stats.spearmanr(sx, sy)
z, se = np.arctanh(r.correlation), np.sqrt(1.06 / (len(sx) - 3))
q = stats.norm.ppf(0.975)
out["spearman"] = {"x": sx, "y": sy, "rho": float(r.correlation), "p": float(r.pvalue),
                   "ci_low": float(np.tanh(z - q * se)), "ci_high": float(np.tanh(z + q * se))}


def icc(data):
    """McGraw & Wong two-way ICCs from the ANOVA mean squares."""
    data = np.asarray(data, float)
    n, k = data.shape
    g = data.mean()
    ssr = k * ((data.mean(axis=1) - g) ** 2).sum()
    ssc = n * ((data.mean(axis=0) - g) ** 2).sum()
    sse = ((data - g) ** 2).sum() - ssr - ssc
    msr, msc, mse = ssr / (n - 1), ssc / (k - 1), sse / ((n - 1) * (k - 1))
    return ((msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n), (msr - mse) / (msr + (k - 1) * mse))


# Shrout & Fleiss (1979) Table 2: published ICC(2,1) = 0.29, ICC(3,1) = 0.71.
sf = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
a1, c1 = icc(sf)
out["icc_shrout_fleiss"] = {"data": sf, "icc_a1": a1, "icc_c1": c1}

manual = [12.0, 30.5, 8.2, 55.0, 41.3, 20.0, 3.1, 70.4, 25.5, 18.0, 60.2, 33.3]
tool = [14.1, 28.0, 10.5, 58.2, 45.0, 19.1, 4.0, 75.3, 27.9, 16.2, 66.0, 35.1]
a1, c1 = icc(np.column_stack([manual, tool]))
diff = np.subtract(tool, manual)
bias, sd = diff.mean(), diff.std(ddof=1)
mx, my = np.mean(manual), np.mean(tool)
sxx, syy = np.var(manual), np.var(tool)
sxy = np.mean((np.array(manual) - mx) * (np.array(tool) - my))
ccc = 2 * sxy / (sxx + syy + (mx - my) ** 2)
out["agreement"] = {"manual": manual, "tool": tool, "icc_a1": a1, "icc_c1": c1, "ba_bias": bias,
                    "ba_loa_low": bias - q * sd, "ba_loa_high": bias + q * sd, "lin_ccc": ccc}


def weighted_kappa(a, b):
    """Quadratic-weighted Cohen's kappa from the confusion matrix."""
    lo, hi = min(min(a), min(b)), max(max(a), max(b))
    k = hi - lo + 1
    o = np.zeros((k, k))
    for i, j in zip(a, b):
        o[i - lo, j - lo] += 1
    w = np.array([[(i - j) ** 2 for j in range(k)] for i in range(k)], float)
    e = np.outer(o.sum(axis=1), o.sum(axis=0)) / o.sum()
    return 1 - (w * o).sum() / (w * e).sum()


ga = [0, 1, 2, 3, 4, 5, 2, 3, 1, 0, 4, 5, 3, 2]
gb = [0, 1, 3, 3, 4, 4, 2, 2, 1, 1, 5, 5, 3, 2]
out["weighted_kappa"] = {"a": ga, "b": gb, "kappa": weighted_kappa(ga, gb)}

def bh(p):
    """Benjamini-Hochberg step-up, written from the definition (R's p.adjust 'BH')."""
    p = np.asarray(p, float)
    m = len(p)
    order = np.argsort(p)
    q = np.empty(m)
    prev = 1.0
    for k in range(m - 1, -1, -1):
        i = order[k]
        prev = min(prev, p[i] * m / (k + 1))
        q[i] = prev
    return list(np.minimum(q, 1))


# McNemar's exact test: two-sided binomial test of the discordant pairs (b changes one way, c the other).
out["mcnemar"] = [{"b": b, "c": c, "p": float(stats.binomtest(min(b, c), b + c, 0.5).pvalue)} for b, c in ((5, 0), (6, 1), (3, 3), (9, 2), (1, 0))]

bp = [0.041, 0.001, 0.205, 0.008, 0.039, 0.06, 0.042, 0.074]
out["benjamini_hochberg"] = {"p": bp, "q": bh(bp)}

with open("tests/reference/study-stats-reference.json", "w") as f:
    json.dump(out, f, indent=1)
print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk in ("p", "statistic", "rho", "icc_a1", "icc_c1", "kappa", "lin_ccc")} if isinstance(v, dict) else v for k, v in out.items()}, indent=1))
