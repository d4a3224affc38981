#!/usr/bin/env bash
# Packs what bench/gpu-check.sh needs into .gpu/, for a GPU machine that reaches no package registry
# (an offline box, a lent cloud GPU): run here, where `npm ci` has run and the npm registry answers.
# Everything in it is x86-64 Linux:
#   node.xz           this machine's Node binary (22 or newer)
#   modules.tar.xz    the installed packages the pipeline and the bench import (and theirs), linux-x64
#                     binaries only, no source maps, types or browser bundles; not onnxruntime-node:
#   ort-cuda13.tar.xz onnxruntime-node 1.29.0 (linux-x64) with the CUDA 13 provider files of
#                     com.github.asus4.onnxruntime.linux-x64-gpu 0.4.9 beside its core (what
#                     `npm run setup:cuda -- --cuda 13` installs; the lent GPU machines have CUDA 13's
#                     libraries in PyTorch's nvidia-* packages, and cuDNN 9)
#   debs/             libvulkan1 and glvnd (NVIDIA's Vulkan driver needs them), for dpkg -x
#   models/           the models the bench times, from ATLAS_MODELS or ../shared/models
# A copy to such a machine carries at most 64 MiB, so every file is cut into parts of PART_MIB
# (default 56) and the parts are grouped into .gpu/load-1 … load-N of at most LOAD_MIB (default 58)
# each, with MANIFEST (sha256, name, parts) in each. Carry one load per call; gpu-check.sh puts each
# file back together (cat) once all its parts are there, checks it and unpacks it (see
# bench/gpu-results.md, "Running the check"). Usage: bash bench/gpu-bundle.sh [MODEL ...]
set -euo pipefail
cd "$(dirname "$0")/.."
models_dir=${ATLAS_MODELS:-../shared/models}
models=("${@:-mobilenet_v1_0.75_224}")
[ $# -gt 0 ] || models+=(mobilenet_v1_0.25_224)
part_mib=${PART_MIB:-56}
load_mib=${LOAD_MIB:-58}
stage=.gpu/stage
packs=.atlas-cache/gpu-packs
rm -rf .gpu && mkdir -p $stage/debs $stage/models "$packs"

node -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' || { echo "needs Node 22 or newer on PATH"; exit 1; }
echo "== Node"
xz -T0 -6 -c "$(node -p process.execPath)" > $stage/node.xz

echo "== packages"
# The packages the pipeline and the bench import, walked through their dependencies.
roots=(@tensorflow/tfjs @tensorflow/tfjs-backend-wasm @tensorflow/tfjs-backend-webgpu webgpu sharp tsx yaml zod p-limit fflate h5wasm onnx-proto cli-progress)
node --input-type=module -e '
import fs from "node:fs"; import path from "node:path";
const seen = new Set();
const find = (from, name) => { for (let d = from; ; d = path.dirname(d)) { const p = path.join(d, "node_modules", name); if (fs.existsSync(path.join(p, "package.json"))) return p; if (path.dirname(d) === d) return null; } };
const walk = (dir) => { if (!dir || seen.has(dir)) return; seen.add(dir); const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  for (const n of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies })) if (!n.startsWith("@types/") && !n.startsWith("@tensorflow/tfjs-node") && n !== "onnxruntime-node") walk(find(dir, n)); };
for (const r of process.argv.slice(1)) walk(find(process.cwd(), r));
for (const d of seen) if (!d.includes("/node_modules/", d.indexOf("node_modules/") + 13)) console.log(path.relative("node_modules", d));
' "${roots[@]}" > .gpu/packages
(cd node_modules && while read -r p; do find "$p" \( -type f -o -type l \); done < ../.gpu/packages) |
  grep -vE '\.(map|md|html|d\.ts|d\.mts|d\.cts|ts)$|\.min\.js$|es2017|fesm|miniprogram|tsbuildinfo|__fixtures__|/wasm-out/' |
  grep -vE '^webgpu/dist/(darwin|linux-arm64|win32)|^h5wasm/dist/(iife|node)|protobufjs/cli' |
  # TF.js packages load dist/<name>.node.js: their browser bundles and per-file ESM trees stay behind.
  grep -vE '^@tensorflow/[^/]+/dist/(tf\.js|tf-[a-z-]+[^e]\.js|tf-[a-z-]*(core|layers|converter|data|cpu|wasm|webgl|webgpu)\.js|.*/.*)$' |
  sort -u > .gpu/files
tar -C node_modules -cf - -T .gpu/files | xz -T0 -6 > $stage/modules.tar.xz

echo "== onnxruntime-node 1.29.0 with the CUDA 13 provider"
provider=com.github.asus4.onnxruntime.linux-x64-gpu-0.4.9.tgz
for spec in onnxruntime-node@1.29.0 onnxruntime-common@1.29.0 com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9; do
  name=$(echo "$spec" | sed 's/@/-/').tgz
  [ -f "$packs/$name" ] || npm pack "$spec" --pack-destination "$packs" --silent >/dev/null
done
ort=$(mktemp -d)
bin=$ort/onnxruntime-node/bin/napi-v6/linux/x64
mkdir -p "$ort/onnxruntime-node/node_modules/onnxruntime-common" "$ort/provider"
tar -xzf "$packs/onnxruntime-node-1.29.0.tgz" -C "$ort/onnxruntime-node" --strip-components=1 --wildcards package/package.json 'package/dist/*' 'package/lib/*' 'package/bin/napi-v6/linux/x64/*'
tar -xzf "$packs/onnxruntime-common-1.29.0.tgz" -C "$ort/onnxruntime-node/node_modules/onnxruntime-common" --strip-components=1 package/package.json package/dist
tar -xzf "$packs/$provider" -C "$ort/provider" --strip-components=4 package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so package/Plugins/Linux/x64/libonnxruntime_providers_shared.so
mv "$ort"/provider/*.so "$bin/"
# The provider's fat binaries hardly compress: xz's fastest level gives nearly all of it.
tar -C "$ort" -cf - onnxruntime-node | xz -T0 -1 > $stage/ort-cuda13.tar.xz
rm -rf "$ort"

echo "== Vulkan loader, glvnd, models"
# NVIDIA's Vulkan driver is libGLX_nvidia, which creates no Vulkan instance without glvnd's dispatch.
debs=(libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0 libgles2)
(cd $stage/debs && apt-get download "${debs[@]}" 2>/dev/null) || { apt-get update -q >/dev/null && (cd $stage/debs && apt-get download "${debs[@]}"); }
tar -C $stage -cf $stage/debs.tar debs && rm -rf $stage/debs
for m in "${models[@]}"; do cp -r "$models_dir/$m" $stage/models/; done
tar -C $stage -cf - models | xz -T0 -6 > $stage/models.tar.xz && rm -rf $stage/models

echo "== parts and loads (${part_mib} MiB parts, loads of at most ${load_mib} MiB)"
# MANIFEST: "sha256 name parts" per file; the parts are name.part-00, -01, …
: > .gpu/MANIFEST
for f in $stage/*; do
  name=$(basename "$f")
  split -b "${part_mib}M" -d -a 2 "$f" "$stage/$name.part-"
  echo "$(sha256sum "$f" | cut -d' ' -f1) $name $(ls "$stage/$name".part-* | wc -l)" >> .gpu/MANIFEST
  rm "$f"
done
# First fit, largest parts first.
ls -S $stage | while read -r p; do
  size=$(stat -c %s "$stage/$p")
  k=1
  while [ -d ".gpu/load-$k" ] && [ $(( $(du -sb ".gpu/load-$k" | cut -f1) + size )) -gt $(( load_mib * 1048576 )) ]; do k=$((k + 1)); done
  mkdir -p ".gpu/load-$k" && mv "$stage/$p" ".gpu/load-$k/"
done
rmdir $stage
for d in .gpu/load-*; do cp .gpu/MANIFEST "$d/"; done
loads=$(ls -d .gpu/load-* | wc -l)
du -sh .gpu/load-* | sed 's/^/  /'
cat .gpu/MANIFEST | sed 's/^/  /'
echo "Carry one load per call, the check last (bench/gpu-results.md, \"Running the check\"):"
for k in $(seq 1 $((loads - 1))); do echo "  run: bash bench/gpu-check.sh --receive    carry: .gpu/load-$k"; done
echo "  run: bash bench/gpu-check.sh              carry: .gpu/load-$loads"
