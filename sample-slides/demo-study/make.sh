#!/usr/bin/env bash
# Renders the demo study's slides (deterministic: same seeds, same files, about 20 s): six patients, biopsies
# before and after treatment, stained for CD163 (macrophages) and MHC class I (sarcolemmal rings).
# Responders (P1-P3) lose most macrophages and MHC-I-positive fibres; non-responders (P4-P6) do not.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
hq=../../histoquant
mkdir -p slides
common=(--width 1536 --height 1152 --mpp 0.5)
seed=700
#        patient pre-cells post-cells pre-MHC1 post-MHC1
while read -r patient precells postcells premhc postmhc; do
  for tp in pre post; do
    if [ "$tp" = pre ]; then cells=$precells; mhc=$premhc; else cells=$postcells; mhc=$postmhc; fi
    seed=$((seed + 1)); $hq synth --out "slides/$patient-$tp-CD163.tif" --seed $seed --cells "$cells" --fibres-positive 0 "${common[@]}" 2>/dev/null
    seed=$((seed + 1)); $hq synth --out "slides/$patient-$tp-MHC1.tif" --seed $seed --cells 5 --fibres-positive "$mhc" "${common[@]}" 2>/dev/null
  done
done <<'TABLE'
P1 70 12 0.70 0.10
P2 60 15 0.45 0.05
P3 80 20 0.90 0.30
P4 50 55 0.40 0.45
P5 65 60 0.60 0.55
P6 45 52 0.20 0.30
TABLE
echo "wrote $(ls slides/*.tif | wc -l) slides in $(pwd)/slides"
