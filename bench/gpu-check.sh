#!/usr/bin/env bash
# The GPU path, checked once on a Linux machine with an NVIDIA GPU and its driver (nvidia-smi works):
# installs what is missing from package registries only (apt, npm, PyPI), then runs `npm run bench`
# on every GPU backend that comes up, within 8 minutes in all:
#   - tensorflow-gpu: @tensorflow/tfjs-node-gpu (an optionalDependency) with CUDA 11 / cuDNN 8
#     runtime libraries from PyPI (nvidia-*-cu11 wheels) on LD_LIBRARY_PATH;
#   - webgpu: Dawn (the `webgpu` package) through Vulkan, with the NVIDIA Vulkan ICD.
# Usage, from the repository root (with ../shared/models or ATLAS_MODELS): bash bench/gpu-check.sh
# Results: bench-out/bench-gpu.jsonl (one JSON row per measurement) and the table on stdout.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench-out .atlas-cache
deadline=$((SECONDS + 470))
left() { echo $((deadline - SECONDS)); }
step() { echo "== $* ($(left) s left)"; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || { echo "no NVIDIA GPU visible (nvidia-smi failed)"; exit 1; }
sudo=; [ "$(id -u)" = 0 ] || sudo=sudo

step "Node 22 and system packages"
if ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' 2>/dev/null; then
  command -v npm >/dev/null || { $sudo apt-get update -q && $sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm; }
  npm install -g --prefix /opt/node22 node@22 && export PATH=/opt/node22/bin:$PATH
fi
# Vulkan loader for Dawn; python3-pip for the CUDA runtime wheels.
$sudo apt-get install -y -q libvulkan1 python3-pip python3-venv >/dev/null 2>&1 || { $sudo apt-get update -q && $sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q libvulkan1 python3-pip python3-venv; }
# Containers often lack the NVIDIA Vulkan ICD file although the driver library is mounted.
if ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
  lib=$(ldconfig -p | awk '/libGLX_nvidia.so.0/{print $NF; exit}')
  [ -n "$lib" ] && $sudo mkdir -p /etc/vulkan/icd.d && echo "{\"file_format_version\":\"1.0.0\",\"ICD\":{\"library_path\":\"$lib\",\"api_version\":\"1.3.0\"}}" | $sudo tee /etc/vulkan/icd.d/nvidia_icd.json >/dev/null
fi

step "npm dependencies (optional ones included: tfjs-node-gpu, webgpu)"
[ -d node_modules/@tensorflow/tfjs ] || npm ci --no-audit --no-fund --include=optional || true

step "CUDA 11 / cuDNN 8 runtime for tfjs-node-gpu (PyPI wheels)"
if [ ! -d .atlas-cache/gpu-venv ]; then
  python3 -m venv .atlas-cache/gpu-venv && timeout "$(left)" .atlas-cache/gpu-venv/bin/pip install -q nvidia-cuda-runtime-cu11 nvidia-cublas-cu11 nvidia-cufft-cu11 nvidia-curand-cu11 nvidia-cusolver-cu11 nvidia-cusparse-cu11 'nvidia-cudnn-cu11<9' || true
fi
for d in .atlas-cache/gpu-venv/lib/python3*/site-packages/nvidia/*/lib; do [ -d "$d" ] && LD_LIBRARY_PATH="$(pwd)/$d:${LD_LIBRARY_PATH:-}"; done
export LD_LIBRARY_PATH

step "which GPU backends come up"
backends=()
for b in tensorflow-gpu webgpu; do
  if timeout 90 node --import tsx --input-type=module -e "import { selectBackend } from './pipeline/engine/backend.ts'; const s = await selectBackend('$b'); console.log('$b:', s.detail ?? 'up'); process.exit(0)"; then backends+=("$b"); else echo "$b: not available"; fi
done
[ ${#backends[@]} -gt 0 ] || { echo "no GPU backend came up; see the messages above"; exit 1; }

step "npm run bench on ${backends[*]}"
list=$(IFS=,; echo "${backends[*]}")
timeout "$(left)" npm run bench -- --backends "$list" --no-torch --workers 1 --json > bench-out/bench-gpu.jsonl
status=$?
cat bench-out/bench-gpu.jsonl
[ $status = 0 ] || echo "bench stopped (exit $status: 124 means the 8-minute budget ran out)"
exit $status
