#!/usr/bin/env bash
# Renders the SVGs spanattn writes in a real browser (headless Chromium) as PNG screenshots, so a person can check
# that they are readable: axis labels, ticks, legends, clipped text, Devanagari shaping. Not run in CI (it needs
# Chromium and a Devanagari font, and the result is judged by eye).
#
#   tools/svg-screenshots.sh [OUTPUT_FOLDER]      (default: svg-screenshots/, git-ignored)
#
# It trains two short real runs from a built tree and renders their outputs:
#   - demo (hi-en, GRU + additive attention): training.svg (curves, log-scale loss axis) and attention.svg
#     (Devanagari column labels, drawn upright and staggered);
#   - train --task dates --epochs 4: dates.svg (curves, linear loss axis) and an attend heatmap with Latin
#     labels (rotated by 45 degrees);
# plus the committed README images in docs/images. Each SVG becomes NAME.png at its own size, 2x device scale.
#
# Needs: Chromium (Debian: sudo apt-get install chromium, or the smaller chromium-headless-shell) and a Devanagari font (fonts-lohit-deva or
# fonts-noto-core); CHROMIUM=/path/to/chrome picks another binary.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

out=${1:-svg-screenshots}
mkdir -p "$out"
chromium=${CHROMIUM:-$(command -v chromium || command -v chromium-headless-shell || command -v chromium-browser || command -v google-chrome || true)}
[ -n "$chromium" ] || { echo "svg-screenshots: no Chromium found (apt-get install chromium, or set CHROMIUM)" >&2; exit 1; }
fc-list 2>/dev/null | grep -qi devanagari || echo "svg-screenshots: warning: no Devanagari font installed; Hindi labels will be boxes" >&2

dotnet build src/SpanAttention.Cli -c Release -v quiet -nologo >/dev/null
spanattn=(dotnet src/SpanAttention.Cli/bin/Release/net10.0/spanattn.dll)

"${spanattn[@]}" demo --color never --output "$out/demo.safetensors" --svg "$out/attention.svg" --log "$out/training.jsonl" >/dev/null 2>&1
"${spanattn[@]}" train --task dates --epochs 4 --output "$out/dates.safetensors" --log "$out/dates.jsonl" >/dev/null 2>&1
"${spanattn[@]}" attend "$out/dates.safetensors" "saturday 9 may 2018" --color never --svg "$out/attention-dates.svg" >/dev/null
cp docs/images/*.svg "$out/"

# The size of an SVG from its root element's width and height attributes (rounded up).
svg_size() {
  python3 - "$1" <<'EOF'
import math, re, sys
head = open(sys.argv[1], encoding="utf-8").read(4000)
root = re.search(r"<svg\b[^>]*>", head).group(0)
w = float(re.search(r'\bwidth="([0-9.]+)', root).group(1))
h = float(re.search(r'\bheight="([0-9.]+)', root).group(1))
print(f"{math.ceil(w)},{math.ceil(h)}")
EOF
}

for svg in "$out"/*.svg; do
  png=${svg%.svg}.png
  size=$(svg_size "$svg")
  "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=2 \
    --window-size="$size" --screenshot="$(realpath "$png")" "file://$(realpath "$svg")" >/dev/null 2>&1
  echo "svg-screenshots: $svg ($size) -> $png"
done
