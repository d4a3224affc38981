#!/usr/bin/env bash
# The GPU check, in one run on a Linux machine with an NVIDIA GPU (nvidia-smi works) and a python3
# with PyTorch on CUDA (the reference): every GPU backend that comes up (onnx-cuda, onnx-webgpu, TF.js
# webgpu) timed at batch 1, 16 and 64 on the three trunks (MobileNet v1 0.75 → conv_pw_13_relu,
# ResNet50V2 → conv3_block4_out, VGG16 → block5_conv3) beside PyTorch CUDA, then the notes' job end to
# end (512 filters × 300 steps of conv3_block4_out, bench/notes-job.ts) on the fastest backend, within
# about 8 minutes in all (the job stops early when time runs short, and says how far it got).
#
# Offline: what it needs comes from .gpu/ (bench/gpu-bundle.sh), one load per call. A call with
# --receive only puts together and unpacks the files whose parts are all there, and exits.
# Online (no .gpu/): `npm ci`, then `npm run setup:cuda` for the CUDA provider.
#
# Rows: bench/results/<date>-<device>.jsonl (the bench's JSON lines, each with "device"), copied to
# $OUT when set; a Markdown table for bench/gpu-results.md on stdout (bench/gpu-table.ts).
# --dry-run: no GPU needed; checks this script on the CPU (onnx-cpu, tiny sizes, rows under bench-out/).
# Usage, from the repository root (with ../shared/models or ATLAS_MODELS): bash bench/gpu-check.sh [--receive|--dry-run]
set -uo pipefail
export PATH=$PATH:/usr/sbin:/sbin
cd "$(dirname "$0")/.."
mode=${1:-check}
dry=; [ "$mode" = --dry-run ] && dry=1
deadline=$((SECONDS + ${GPU_CHECK_SECONDS:-470}))
left() { echo $((deadline - SECONDS)); }
step() { echo "== $* ($(left) s left)"; }
sudo=; [ "$(id -u)" = 0 ] || sudo=sudo

# --- the bundle: put files together once all their parts are here, check and unpack them ----------
unpack() { # name file
  case $1 in
    node.xz) mkdir -p .gpu/node/bin && xz -dc "$2" > .gpu/node/bin/node && chmod +x .gpu/node/bin/node ;;
    modules.tar.xz) mkdir -p node_modules && xz -dc "$2" | tar -C node_modules -xf - ;;
    ort-cuda13.tar.xz) rm -rf node_modules/onnxruntime-node && mkdir -p node_modules && xz -dc "$2" | tar -C node_modules -xf - ;;
    # The Vulkan loader and glvnd where the system looks, on the GPU machine only (a dry run leaves the system alone).
    debs.tar) mkdir -p .gpu/debs && tar -C .gpu -xf "$2" && { [ -n "$dry" ] || ! nvidia-smi -L >/dev/null 2>&1 || { for f in .gpu/debs/*.deb; do $sudo dpkg -x "$f" /; done && $sudo ldconfig; }; } ;;
    models.tar.xz) xz -dc "$2" | tar -C .gpu -xf - ;;
    *) echo "unknown bundle file $1" && return 1 ;;
  esac
}
receive() {
  local manifest
  manifest=$(ls .gpu/load-*/MANIFEST 2>/dev/null | head -1)
  [ -n "$manifest" ] || return 0
  # A checkout with its own packages (where the bundle was made) keeps them: the bundle is for a bare machine.
  if [ -d node_modules/@tensorflow/tfjs ] && [ ! -d .gpu/done ]; then echo "  node_modules is here already: the bundle is left packed"; return 0; fi
  mkdir -p .gpu/done
  local missing=0
  while read -r sum name parts; do
    [ -f ".gpu/done/$name" ] && continue
    local found
    found=$(ls .gpu/load-*/"$name".part-* 2>/dev/null | wc -l)
    if [ "$found" -lt "$parts" ]; then echo "  $name: $found of $parts parts here"; missing=1; continue; fi
    # Parts in order of their number, wherever their load is.
    cat $(ls .gpu/load-*/"$name".part-* | awk -F'.part-' '{print $NF" "$0}' | sort -n | cut -d' ' -f2) > ".gpu/$name"
    if [ "$(sha256sum ".gpu/$name" | cut -d' ' -f1)" != "$sum" ]; then echo "  $name: checksum differs, parts damaged"; rm -f ".gpu/$name"; missing=1; continue; fi
    unpack "$name" ".gpu/$name" && rm -f ".gpu/$name" .gpu/load-*/"$name".part-* && touch ".gpu/done/$name" && echo "  $name: unpacked"
  done < "$manifest"
  return $missing
}

if [ "$mode" = --receive ]; then
  step "receiving .gpu loads"
  receive
  exit 0
fi

if [ -z "$dry" ]; then
  gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader) || { echo "no NVIDIA GPU visible (nvidia-smi failed)"; exit 1; }
  echo "$gpu"
  device=$(echo "$gpu" | cut -d, -f1)
else
  device="cpu dry run"
fi
slug=$(echo "$device" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9.-')

if ls .gpu/load-*/MANIFEST >/dev/null 2>&1; then
  step "offline bundle .gpu/ (bench/gpu-bundle.sh)"
  receive || { echo "parts are missing: carry every .gpu/load-* (one per call) before the check"; exit 1; }
fi
[ -x .gpu/node/bin/node ] && export PATH=$(pwd)/.gpu/node/bin:$PATH
[ -d .gpu/models ] && [ -z "${ATLAS_MODELS:-}" ] && export ATLAS_MODELS=$(pwd)/.gpu/models
node -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' 2>/dev/null || { echo "needs Node 22 or newer (or .gpu/ from bench/gpu-bundle.sh)"; exit 1; }
if [ ! -d node_modules/@tensorflow/tfjs ]; then
  step "npm ci, and the CUDA provider (npm run setup:cuda)"
  npm ci --no-audit --no-fund --include=optional && npm run setup:cuda
fi

if [ -z "$dry" ]; then
  # Vulkan for Dawn (TF.js webgpu, onnx-webgpu): the driver's own ICD file where the container mounts it.
  [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}" ] && ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
    lib=$(ldconfig -p | awk '/libGLX_nvidia.so.0/{print $NF; exit}')
    [ -n "$lib" ] && $sudo mkdir -p /etc/vulkan/icd.d && echo "{\"file_format_version\":\"1.0.0\",\"ICD\":{\"library_path\":\"$lib\",\"api_version\":\"1.3.0\"}}" | $sudo tee /etc/vulkan/icd.d/nvidia_icd.json >/dev/null
  fi
fi

step "which GPU backends come up"
# GPU_CHECK_BACKENDS overrides the list (to try the script's own flow on another machine).
read -ra candidates <<< "${GPU_CHECK_BACKENDS:-onnx-cuda onnx-webgpu webgpu}"; [ -n "$dry" ] && candidates=(onnx-cpu onnx-webgpu)
backends=()
for b in "${candidates[@]}"; do
  # As auto would take them (hardware adapters only); the CLI's relaunch puts CUDA's libraries on LD_LIBRARY_PATH.
  if timeout 120 node --import tsx --input-type=module -e "
    import { relaunchWithCudaLibraries } from './pipeline/engine/onnx/cuda-libs.ts';
    import { CANDIDATES, selectBackend } from './pipeline/engine/backend.ts';
    relaunchWithCudaLibraries();
    try { const s = await selectBackend('auto', CANDIDATES.filter((c) => c.name === '$b')); console.log('  $b:', s.detail ?? 'up'); process.exit(0); }
    catch (e) { console.log('  $b: not available:', e.message.replace(/^no TensorFlow.js backend could start: /, '')); process.exit(1); }" 2>&1 | grep -v XDG_RUNTIME_DIR; then backends+=("$b"); fi  # pipefail: node's status
done
[ ${#backends[@]} -gt 0 ] || { echo "no GPU backend came up; see the reasons above"; ls -l /dev/nvidia* /etc/vulkan/icd.d /usr/share/vulkan/icd.d 2>&1 | head; exit 1; }

results=bench/results; [ -n "$dry" ] && results=bench-out
mkdir -p "$results"
rows="$results/$(date -u +%F)-$slug.jsonl"
: > "$rows"
tag() { sed -u "s/^{/{\"device\":\"$device\",/" >> "$rows"; }

common=(--no-lucid --no-e2e --no-dataset --json)
if [ -n "$dry" ]; then
  step "steps: ${backends[*]}"
  timeout "$(left)" node --import tsx bench/cli.ts --quick --backends "$(IFS=,; echo "${backends[*]}")" --no-torch "${common[@]}" | tag
else
  # PyTorch first (its rows are the yardstick), then each backend with an equal share of the time
  # left before the notes' job (150 s), so that a slow one cannot starve the others.
  step "PyTorch CUDA at batch 1, 16, 64 on the three trunks"
  # The bench's Python: ATLAS_PYTHON, else python3 (on the lent machines, the one with PyTorch).
  if ${ATLAS_PYTHON:-python3} -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    timeout 150 node --import tsx bench/cli.ts --backends "${backends[0]}" --no-steps --trunks --batches 1,16,64 --torch-device cuda "${common[@]}" | tag
  else
    echo "  skipped: ${ATLAS_PYTHON:-python3} has no PyTorch that sees a CUDA GPU (set ATLAS_PYTHON)"
  fi
  for i in "${!backends[@]}"; do
    share=$(( ($(left) - 150) / (${#backends[@]} - i) ))
    step "${backends[$i]} at batch 1, 16, 64 on the three trunks (at most $share s)"
    timeout "$share" node --import tsx bench/cli.ts --backends "${backends[$i]}" --trunks --batches 1,16,64 --no-torch "${common[@]}" | tag
  done
fi
echo "  $(wc -l < "$rows") rows"

# The fastest backend at ResNet50V2 conv3_block4_out, batch 64 (the notes' job's layer), else the first up.
best=$(node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(JSON.parse)
    .filter((r) => r.kind === "step" && r.model === "resnet50v2" && !r.backend.startsWith("pytorch"));
  rows.sort((a, b) => b.unitStepsPerSec - a.unitStepsPerSec);
  console.log(rows[0]?.backend ?? process.argv[2]);' "$rows" "${backends[0]}")
step "the notes' job end to end on $best"
if [ -n "$dry" ]; then
  timeout "$(left)" node --import tsx bench/notes-job.ts --backend "$best" --units 2 --steps 2 | tag
else
  timeout "$(left)" node --import tsx bench/notes-job.ts --backend "$best" --limit "$(( $(left) * 2 / 3 ))" | tag
fi

[ -n "${OUT:-}" ] && cp "$rows" "$OUT/"
step "done: $rows"
node --import tsx bench/gpu-table.ts "$rows"
