"""Exports torchvision models (random weights) as ONNX at several opsets, for bench/onnx-exports.ts.

Usage: python3 bench/onnx_exports.py OUT_DIR [model ...]
Needs PyTorch and torchvision (Debian: apt-get install python3-torch python3-torchvision).
Each file is OUT_DIR/<model>-opset<k>/model.onnx, input 1x3x224x224 as the shared examples.
"""
import os
import sys

import torch
import torchvision

DEFAULT = ["vgg11", "densenet121", "mnasnet0_5", "regnet_x_400mf", "resnext50_32x4d", "inception_v3", "mobilenet_v2", "alexnet"]
OPSETS = [11, 17]

out = sys.argv[1]
names = sys.argv[2:] or DEFAULT
for name in names:
    torch.manual_seed(0)
    kwargs = {"aux_logits": False, "init_weights": True} if name == "inception_v3" else {}
    model = getattr(torchvision.models, name)(**kwargs).eval()
    size = 299 if name == "inception_v3" else 224
    for opset in OPSETS:
        folder = os.path.join(out, f"{name}-opset{opset}")
        os.makedirs(folder, exist_ok=True)
        try:
            torch.onnx.export(model, torch.zeros(1, 3, size, size), os.path.join(folder, "model.onnx"), opset_version=opset,
                              input_names=["input"], output_names=["logits"], do_constant_folding=True)
            print(f"{name} opset {opset}: exported", flush=True)
        except Exception as err:  # an export PyTorch itself refuses
            print(f"{name} opset {opset}: export failed: {err}", flush=True)
