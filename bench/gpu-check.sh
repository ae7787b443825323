#!/usr/bin/env bash
# The GPU check in one command, for a machine with an NVIDIA GPU and no .NET.
#   bash bench/gpu-check.sh pack   (here, with .NET): publishes the app without OpenCV into .device/app and packs the
#                                  .NET runtime into .device/dotnet.tar.xz (about 30 MB together; .device/ is not in git)
#   bash bench/gpu-check.sh        (there, or here): runs `histoquant gpu-check` and prints one JSON: CUDA against CPU
#                                  engine parity (exact counts and histogram, sums within 1e-6 relative) on generated
#                                  tiles and on a generated Deflate-tiled slide, kernel Gpx/s, end to end Mpx/s.
# Without a GPU it runs on ILGPU's CPU accelerator and says so. Exit 0 when everything agrees.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dev=.device
if [ "${1:-}" = pack ]; then
  rm -rf "$dev/app" && mkdir -p "$dev"
  # linux-x64 only: SkiaSharp (the charts) ships natives for every platform otherwise.
  dotnet publish src/HistoQuant.Cli -c Release -r linux-x64 --no-self-contained -o "$dev/app" -p:WithoutOpenCvNative=true --nologo -v quiet
  root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
  tar -C "$root" -cJf "$dev/dotnet.tar.xz" dotnet host shared/Microsoft.NETCore.App
  du -sh "$dev/app" "$dev/dotnet.tar.xz"
  exit 0
fi
dotnet=dotnet
if ! command -v dotnet >/dev/null; then
  [ -f "$dev/dotnet.tar.xz" ] || { echo "gpu-check: no dotnet here and no $dev/dotnet.tar.xz; run 'bash bench/gpu-check.sh pack' on a machine with .NET first" >&2; exit 3; }
  runtime="$(mktemp -d)"
  tar -C "$runtime" -xJf "$dev/dotnet.tar.xz"
  export DOTNET_ROOT="$runtime"
  dotnet="$runtime/dotnet"
fi
if [ ! -f "$dev/app/HistoQuant.Cli.dll" ]; then
  command -v dotnet >/dev/null || { echo "gpu-check: $dev/app is missing; run 'bash bench/gpu-check.sh pack' first" >&2; exit 3; }
  # linux-x64 only: SkiaSharp (the charts) ships natives for every platform otherwise.
  dotnet publish src/HistoQuant.Cli -c Release -r linux-x64 --no-self-contained -o "$dev/app" -p:WithoutOpenCvNative=true --nologo -v quiet
fi
exec timeout 300 "$dotnet" "$dev/app/HistoQuant.Cli.dll" gpu-check "$@"
