#!/usr/bin/env bash
# The GPU path, checked once on a Linux machine with an NVIDIA GPU and its driver (nvidia-smi works):
# installs what is missing from package registries only (apt, npm, PyPI), then runs `npm run bench`
# on every GPU backend that comes up, within 8 minutes in all:
#   - tensorflow-gpu: @tensorflow/tfjs-node-gpu (an optionalDependency) with CUDA 11 / cuDNN 8
#     runtime libraries from PyPI (nvidia-*-cu11 wheels) on LD_LIBRARY_PATH;
#   - webgpu: Dawn (the `webgpu` package) through Vulkan, with the NVIDIA Vulkan ICD.
# A machine that reaches no registry gets everything from .gpu/, packed beforehand by bench/gpu-bundle.sh
# on a machine that has run `npm ci` (Node, the packages, libvulkan1, the models); tfjs-node-gpu's
# libtensorflow and CUDA 11 wheels cannot travel that way (over 500 MB), so only webgpu comes up there.
# The PyTorch reference runs on the GPU (--torch-device cuda) when python3 has torch with CUDA.
# Usage, from the repository root (with ../shared/models or ATLAS_MODELS): bash bench/gpu-check.sh [BENCH FLAGS]
# (flags go on to the bench, e.g. --no-steps --no-torch for the lucid and end-to-end rows alone).
# Results: bench-out/bench-gpu.jsonl (one JSON row per measurement) and the table on stdout.
set -uo pipefail
export PATH=$PATH:/usr/sbin:/sbin
cd "$(dirname "$0")/.."
mkdir -p bench-out .atlas-cache
deadline=$((SECONDS + 470))
left() { echo $((deadline - SECONDS)); }
step() { echo "== $* ($(left) s left)"; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || { echo "no NVIDIA GPU visible (nvidia-smi failed)"; exit 1; }
sudo=; [ "$(id -u)" = 0 ] || sudo=sudo

if [ -f .gpu/node.xz ]; then
  step "offline bundle .gpu/ (bench/gpu-bundle.sh)"
  mkdir -p /tmp/gpu-node/bin && xz -dc .gpu/node.xz > /tmp/gpu-node/bin/node && chmod +x /tmp/gpu-node/bin/node && export PATH=/tmp/gpu-node/bin:$PATH
  [ -d node_modules/@tensorflow/tfjs ] || { mkdir -p node_modules && xz -dc .gpu/modules.tar.xz | tar -C node_modules -xf -; }
  # The Vulkan loader and glvnd where the system looks (NVIDIA's libGLX_nvidia answers no Vulkan call without glvnd).
  for f in .gpu/debs/*.deb; do $sudo dpkg -x "$f" /; done; $sudo ldconfig
  [ -n "${ATLAS_MODELS:-}" ] || export ATLAS_MODELS=$(pwd)/.gpu/models
  offline=1
fi
offline=${offline:-}
# The driver's own ICD file, where the container mounts it (NVIDIA's images put it under /usr/local/nvidia).
[ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json

[ -n "$offline" ] || step "Node 22 and system packages"
if [ -z "$offline" ] && ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' 2>/dev/null; then
  command -v npm >/dev/null || { $sudo apt-get update -q && $sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm; }
  npm install -g --prefix /opt/node22 node@22 && export PATH=/opt/node22/bin:$PATH
fi
# Vulkan loader for Dawn; python3-pip for the CUDA runtime wheels.
[ -n "$offline" ] || $sudo apt-get install -y -q libvulkan1 python3-pip python3-venv >/dev/null 2>&1 || { $sudo apt-get update -q && $sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q libvulkan1 python3-pip python3-venv; }
# Containers often lack the NVIDIA Vulkan ICD file although the driver library is mounted.
if ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
  lib=$(ldconfig -p | awk '/libGLX_nvidia.so.0/{print $NF; exit}')
  [ -n "$lib" ] && $sudo mkdir -p /etc/vulkan/icd.d && echo "{\"file_format_version\":\"1.0.0\",\"ICD\":{\"library_path\":\"$lib\",\"api_version\":\"1.3.0\"}}" | $sudo tee /etc/vulkan/icd.d/nvidia_icd.json >/dev/null
fi

[ -n "$offline" ] || step "npm dependencies (optional ones included: tfjs-node-gpu, webgpu)"
[ -d node_modules/@tensorflow/tfjs ] || [ -n "$offline" ] || npm ci --no-audit --no-fund --include=optional || true

[ -n "$offline" ] || step "CUDA 11 / cuDNN 8 runtime for tfjs-node-gpu (PyPI wheels)"
if [ -z "$offline" ] && [ ! -d .atlas-cache/gpu-venv ]; then
  python3 -m venv .atlas-cache/gpu-venv && timeout "$(left)" .atlas-cache/gpu-venv/bin/pip install -q nvidia-cuda-runtime-cu11 nvidia-cublas-cu11 nvidia-cufft-cu11 nvidia-curand-cu11 nvidia-cusolver-cu11 nvidia-cusparse-cu11 'nvidia-cudnn-cu11<9' || true
fi
for d in .atlas-cache/gpu-venv/lib/python3*/site-packages/nvidia/*/lib; do [ -d "$d" ] && LD_LIBRARY_PATH="$(pwd)/$d:${LD_LIBRARY_PATH:-}"; done
export LD_LIBRARY_PATH

step "which GPU backends come up"
backends=()
for b in tensorflow-gpu webgpu; do
  # A software WebGPU adapter (llvmpipe, lavapipe) does not count: it is slower than wasm.
  if timeout 90 node --import tsx --input-type=module -e "
    import { selectBackend } from './pipeline/engine/backend.ts';
    import { loadWebGpu } from './pipeline/engine/webgpu.ts';
    try { if ('$b' === 'webgpu') await loadWebGpu({ allowSoftware: false }); const s = await selectBackend('$b'); console.log('$b:', s.detail ?? 'up'); process.exit(0); }
    catch (e) { console.log('$b: not available:', e.message.split('\\n')[0]); process.exit(1); }"; then backends+=("$b"); fi
done
if [ ${#backends[@]} = 0 ]; then
  echo "no GPU backend came up; see the messages above. What Vulkan sees:"
  ls -l /dev/nvidia* /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/nvidia/share/vulkan/icd.d 2>&1 | head -20
  ldconfig -p | grep -Ei 'libvulkan|libGLX_nvidia' | head
  lib=$(ldconfig -p | awk '/libGLX_nvidia.so.0/{print $NF; exit}'); [ -n "$lib" ] && ldd "$lib" | grep 'not found'
  exit 1
fi

step "npm run bench on ${backends[*]}"
list=$(IFS=,; echo "${backends[*]}")
# The reference on the GPU when python3's torch sees CUDA, else none (a CPU reference says nothing here).
torch=--no-torch
python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && torch="--torch-device cuda"
timeout "$(left)" node --import tsx bench/cli.ts --backends "$list" $torch --e2e-backends "$list" --workers 1 --rounds 1 --e2e-units 24 --no-dataset --json "$@" > bench-out/bench-gpu.jsonl
status=$?
cat bench-out/bench-gpu.jsonl
[ $status = 0 ] || echo "bench stopped (exit $status: 124 means the 8-minute budget ran out)"
exit $status
