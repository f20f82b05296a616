#!/usr/bin/env python3
"""PyTorch reference for the torchvision plugin's parity test (TorchVisionModelTests).

Usage: make_reference.py OUT_DIR [ARCHITECTURE ...]   (default: resnet18 mobilenet_v2)

For each architecture, with Debian's python3-torch 1.13 / python3-torchvision 0.14 and a fixed seed, writes
  OUT_DIR/ARCH.pt            model.state_dict() of torchvision.models.ARCH(num_classes=10), randomly initialised,
                             with random BatchNorm affine parameters and running statistics (so eval mode uses them)
  OUT_DIR/ARCH-reference.pt  {"input": x [2, 3, 64, 64], "logits": model.eval()(x) [2, 10]}
  OUT_DIR/ARCH-keys.txt      the state-dict keys in order, one a line
"""
import sys

import torch
import torchvision


def main(out_dir, architectures):
    torch.manual_seed(20240614)
    for name in architectures:
        model = getattr(torchvision.models, name)(num_classes=10)
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.weight.uniform_(0.5, 1.5)
                    module.bias.uniform_(-0.2, 0.2)
                    module.running_mean.uniform_(-0.2, 0.2)
                    module.running_var.uniform_(0.5, 1.5)
        model.eval()
        x = torch.randn(2, 3, 64, 64)
        with torch.no_grad():
            logits = model(x)
        state = model.state_dict()
        torch.save(state, f"{out_dir}/{name}.pt")
        torch.save({"input": x, "logits": logits}, f"{out_dir}/{name}-reference.pt")
        with open(f"{out_dir}/{name}-keys.txt", "w", encoding="utf-8") as keys:
            keys.write("\n".join(state.keys()) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:] or ["resnet18", "mobilenet_v2"])
