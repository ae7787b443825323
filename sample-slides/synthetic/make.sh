#!/usr/bin/env bash
# Regenerates the synthetic sample slides (deterministic: same seeds, same files).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
hq=../../histoquant
common=(--width 3072 --height 2304 --mpp 0.5)
$hq synth --out P01-pre-CD163.tif  --seed 101 --cells 220 --fibres-positive 0    "${common[@]}"
$hq synth --out P01-post-CD163.tif --seed 102 --cells 50  --fibres-positive 0    "${common[@]}"
$hq synth --out P01-pre-MHC1.tif   --seed 103 --cells 40  --fibres-positive 0.6  "${common[@]}"
$hq synth --out P01-post-MHC1.tif  --seed 104 --cells 20  --fibres-positive 0.15 "${common[@]}"
