"""Independent reference numbers for HistoQuant's colour deconvolution tests.

Run with Debian's python3-skimage (0.19.3) and python3-numpy:
    /usr/bin/python3 tests/reference/skimage_reference.py > tests/reference/skimage-ihc-reference.json

scikit-image's separate_stains computes log(rgb)/log(1e-6) @ conv_matrix and clips at 0, i.e. OD10/6
clipped; HistoQuant reports unclipped OD10 (-log10(max(I,1)/I0)). So per-pixel values are compared as
skimage * 6 on pixels with no zero channel and a positive stain value, and counts/means come from a plain
numpy evaluation of the same formula with HistoQuant's clamp at 1.
"""
import json
import numpy as np
from skimage import io
from skimage.color import separate_stains

H = np.array([0.65111, 0.70119, 0.29049])
DAB = np.array([0.26917, 0.56824, 0.77759])
H /= np.linalg.norm(H)
DAB /= np.linalg.norm(DAB)
RES = np.cross(H, DAB)
RES /= np.linalg.norm(RES)
M = np.stack([H, DAB, RES])          # rows are stains: od = c @ M
conv = np.linalg.inv(M)              # c = od @ inv(M)

img = io.imread("../shared/data/ihc/skimage-ihc.png")[:, :, :3]
sk = separate_stains(img, conv) * 6.0  # skimage's OD/6 scale -> OD10

od = -np.log10(np.maximum(img.astype(np.float64), 1.0) / 255.0)
conc = od @ conv
dab = conc[:, :, 1]

rng = np.random.default_rng(7)
pixels = []
while len(pixels) < 24:
    y, x = int(rng.integers(0, img.shape[0])), int(rng.integers(0, img.shape[1]))
    if img[y, x].min() == 0 or sk[y, x, 0] <= 0 or sk[y, x, 1] <= 0:
        continue
    pixels.append({"x": x, "y": y, "rgb": img[y, x].tolist(),
                   "hematoxylin": float(sk[y, x, 0]), "dab": float(sk[y, x, 1])})

out = {
    "source": "scikit-image 0.19.3 separate_stains with QuPath's H-DAB vectors (normalised, residual = normalised cross product)",
    "image": "../shared/data/ihc/skimage-ihc.png",
    "inverse_matrix": conv.tolist(),
    "pixels": pixels,
    "pixels_total": int(dab.size),
    "dab_at_least": {str(t): int((dab >= t).sum()) for t in (0.2, 0.4, 0.6)},
    "dab_mean": float(dab.mean()),
    "hematoxylin_mean": float(conc[:, :, 0].mean()),
}
print(json.dumps(out, indent=1))

# End-to-end reference: CMU-1-Small-Region as OpenSlide 3.4.1 decodes it (an independent JPEG decode and
# container reader), deconvolved by the same numpy formula over every pixel (quantify --tissue all).
cmu = io.imread("../shared/data/wsi/reference/cmu-1-small-region.openslide-level0.png")[:, :, :3]
cmu_dab = (-np.log10(np.maximum(cmu.astype(np.float64), 1.0) / 255.0) @ conv)[:, :, 1]
with open("tests/reference/cmu-1-small-region-reference.json", "w") as f:
    json.dump({
        "source": "OpenSlide 3.4.1 level-0 render + numpy deconvolution, QuPath H-DAB vectors, I0 = 255",
        "pixels_total": int(cmu_dab.size),
        "positive_area_pct": float(100.0 * (cmu_dab >= 0.2).mean()),
        "weak_pct": float(100.0 * ((cmu_dab >= 0.2) & (cmu_dab < 0.4)).mean()),
        "moderate_pct": float(100.0 * ((cmu_dab >= 0.4) & (cmu_dab < 0.6)).mean()),
        "strong_pct": float(100.0 * (cmu_dab >= 0.6).mean()),
        "mean_dab_od": float(cmu_dab.mean()),
    }, f, indent=1)
