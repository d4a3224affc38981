#!/usr/bin/env bash
# Packs what bench/gpu-check.sh needs into .gpu/, for a GPU machine that reaches no package registry
# (an offline box, a lent cloud GPU): run here, where `npm ci` has run, then copy the repository with
# .gpu/ to that machine and run `bash bench/gpu-check.sh` there. Everything in it is x86-64 Linux.
#   .gpu/node.xz        this machine's Node binary (22 or newer), xz-compressed
#   .gpu/modules.tar.xz the installed packages the bench imports (and theirs), only linux-x64
#                       binaries, no source maps, types or browser bundles
#   .gpu/debs/          libvulkan1 (Dawn's Vulkan loader) and glvnd, which NVIDIA's Vulkan driver
#                       needs, unpacked there with dpkg -x
#   .gpu/models/        the models the bench times, copied from ATLAS_MODELS or ../shared/models
# About 62 MB with MobileNet v1 0.75 and 0.25 (the default MODELs). Usage: bash bench/gpu-bundle.sh [MODEL ...]
set -euo pipefail
cd "$(dirname "$0")/.."
models_dir=${ATLAS_MODELS:-../shared/models}
models=("${@:-mobilenet_v1_0.75_224}")
[ $# -gt 0 ] || models+=(mobilenet_v1_0.25_224)
rm -rf .gpu && mkdir -p .gpu/debs .gpu/models

node -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' || { echo "needs Node 22 or newer on PATH"; exit 1; }
xz -T0 -9 -c "$(node -p process.execPath)" > .gpu/node.xz

# The packages the pipeline and the bench import, walked through their dependencies.
roots=(@tensorflow/tfjs @tensorflow/tfjs-backend-wasm @tensorflow/tfjs-backend-webgpu webgpu sharp tsx yaml zod p-limit fflate h5wasm onnx-proto cli-progress onnxruntime-common)
node --input-type=module -e '
import fs from "node:fs"; import path from "node:path";
const seen = new Set();
const find = (from, name) => { for (let d = from; ; d = path.dirname(d)) { const p = path.join(d, "node_modules", name); if (fs.existsSync(path.join(p, "package.json"))) return p; if (path.dirname(d) === d) return null; } };
const walk = (dir) => { if (!dir || seen.has(dir)) return; seen.add(dir); const pj = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  for (const n of Object.keys({ ...pj.dependencies, ...pj.optionalDependencies })) if (!n.startsWith("@types/") && !n.startsWith("@tensorflow/tfjs-node")) walk(find(dir, n)); };
for (const r of process.argv.slice(1)) walk(find(process.cwd(), r));
for (const d of seen) if (!d.includes("/node_modules/", d.indexOf("node_modules/") + 13)) console.log(path.relative("node_modules", d));
' "${roots[@]}" > .gpu/packages
(cd node_modules && while read -r p; do find "$p" \( -type f -o -type l \); done < ../.gpu/packages) |
  grep -vE '\.(map|md|html|d\.ts|d\.mts|d\.cts|ts)$|\.min\.js$|es2017|fesm|miniprogram|tsbuildinfo|__fixtures__|/wasm-out/' |
  grep -vE '^webgpu/dist/(darwin|linux-arm64|win32)|^h5wasm/dist/(iife|node)|protobufjs/cli' |
  # TF.js packages load dist/<name>.node.js: their browser bundles and per-file ESM trees stay behind.
  grep -vE '^@tensorflow/[^/]+/dist/(tf\.js|tf-[a-z-]+[^e]\.js|tf-[a-z-]*(core|layers|converter|data|cpu|wasm|webgl|webgpu)\.js|.*/.*)$' |
  sort -u > .gpu/files
tar -C node_modules -cf - -T .gpu/files | xz -T0 -6 > .gpu/modules.tar.xz

# NVIDIA's Vulkan driver is libGLX_nvidia, which creates no Vulkan instance without glvnd's dispatch.
debs=(libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0 libgles2)
(cd .gpu/debs && apt-get download "${debs[@]}" 2>/dev/null) || { apt-get update -q >/dev/null && (cd .gpu/debs && apt-get download "${debs[@]}"); }
for m in "${models[@]}"; do cp -r "$models_dir/$m" .gpu/models/; done
du -sh .gpu/* | sed 's/^/  /'
echo "carry .gpu with the repository; gpu-check.sh unpacks it when present"
