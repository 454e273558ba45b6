"""AlexNet and non-normalised VGG-16 for 32×32 CIFAR-10 images, as [L] trains them.

Both nets are plain stacks of conv / activation / max-pool / linear: no batch norm, no dropout,
no in-place ops, so ``torch.func`` (functional_call, grad, jvp) can differentiate them twice.

AlexNet, adapted to 32×32 (five 3×3 convs, stride 1, padding 1, three 2×2 max-pools, three FCs)::

    x (B, 3, 32, 32)
    conv 3→64   act  pool  → (B,  64, 16, 16)
    conv 64→192 act  pool  → (B, 192,  8,  8)
    conv 192→384 act       → (B, 384,  8,  8)
    conv 384→256 act       → (B, 256,  8,  8)
    conv 256→256 act pool  → (B, 256,  4,  4)
    flatten                → (B, 4096)
    fc 4096→4096 act, fc 4096→4096 act, fc 4096→n_c

The channel counts and the 4096-wide FCs are ImageNet AlexNet's (torchvision's); the 11×11/stride-4
and 5×5 kernels become 3×3/stride 1 so that three pools take 32×32 to 4×4.

VGG-16 ("D" in torchvision's ``cfgs``): thirteen 3×3 convs in five blocks each closed by a 2×2
max-pool, so 32×32 → 1×1 with 512 channels; the head keeps VGG's three FCs at 32×32 scale:
fc 512→512 act, fc 512→512 act, fc 512→n_c (16 weight layers, as the name says).

``width`` multiplies every hidden width (conv channels and FC widths), each rounded,
``max(1, round(c · width))``; the input (3) and output (n_c) stay.

Init (Kaiming, He et al. 2015): every conv and linear weight, the output layer included, is drawn
``kaiming_normal_(mode="fan_in", nonlinearity=activation)``, i.e. N(0, gain²/fan_in) with gain √2
for ReLU and 5/3 for tanh (torch's ``calculate_gain``); every bias is 0. Drawn from a
``torch.Generator`` seeded with ``seed``, so the global RNG is left untouched.
"""

from __future__ import annotations

import torch
from torch import nn

from simlab.errors import UsageError
from simlab.models import count_params, mlp  # noqa: F401  (the one MLP builder and count)

ARCHS = ("alexnet", "vgg16")
ACTIVATIONS = ("relu", "tanh")

# (out_channels, pool after?) for the five AlexNet convs, and the two hidden FC widths
ALEXNET_CONVS: tuple[tuple[int, bool], ...] = ((64, True), (192, True), (384, False), (256, False), (256, True))
ALEXNET_FC = (4096, 4096)
def vgg16_cfg() -> list:
    """torchvision's VGG-16 layer list ("D"): [64, 64, "M", 128, 128, "M", 256 ×3, "M", 512 ×3,
    "M", 512 ×3, "M"]. Imported when a VGG is asked for: torchvision.models pulls in
    torch._dynamo, 1.5 s of every process's start."""
    from torchvision.models.vgg import cfgs

    return list(cfgs["D"])
VGG16_FC = (512, 512)
IMAGE_SIZE = 32


def scaled(c: int, width: float) -> int:
    """A hidden width after the multiplier: ``max(1, round(c · width))``."""
    return max(1, round(c * width))


def _act(activation: str) -> nn.Module:
    return nn.ReLU(inplace=False) if activation == "relu" else nn.Tanh()


def _check(arch: str, activation: str, width: float, n_classes: int) -> None:
    if arch not in ARCHS:
        raise UsageError(f"unknown architecture {arch!r}; use one of {', '.join(ARCHS)}")
    if activation not in ACTIVATIONS:
        raise UsageError(f"unknown activation {activation!r}; use one of {', '.join(ACTIVATIONS)}")
    if not width > 0:
        raise UsageError(f"width={width}: the width multiplier must be > 0 (e.g. 1.0, 0.25)")
    if n_classes < 1:
        raise UsageError(f"n_classes={n_classes}: need at least one output")


def make_layers(cfg: list, *, activation: str = "relu", width: float = 1.0, in_channels: int = 3) -> nn.Sequential:
    """VGG feature extractor from a torchvision layer-config list: ints are 3×3 convs (padding 1)
    followed by the activation, ``"M"`` a 2×2 max-pool; channels scaled by ``width``."""
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            out = scaled(int(v), width)
            layers += [nn.Conv2d(in_channels, out, kernel_size=3, padding=1), _act(activation)]
            in_channels = out
    return nn.Sequential(*layers)


class ConvNet(nn.Module):
    """``features`` (convs and pools) → flatten → ``classifier`` (FCs). Both archs are this."""

    def __init__(self, features: nn.Sequential, classifier: nn.Sequential, arch: str, activation: str, width: float):
        super().__init__()
        self.features = features
        self.classifier = classifier
        self.arch, self.activation, self.width = arch, activation, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, 32, 32) → (B, n_c)
        return self.classifier(torch.flatten(self.features(x), 1))

    def extra_repr(self) -> str:
        return f"arch={self.arch}, activation={self.activation}, width={self.width}"


def _alexnet(n_classes: int, activation: str, width: float) -> ConvNet:
    layers: list[nn.Module] = []
    c_in, side = 3, IMAGE_SIZE
    for c, pool in ALEXNET_CONVS:
        c_out = scaled(c, width)
        layers += [nn.Conv2d(c_in, c_out, kernel_size=3, stride=1, padding=1), _act(activation)]
        if pool:
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            side //= 2
        c_in = c_out
    dims = [c_in * side * side] + [scaled(h, width) for h in ALEXNET_FC] + [n_classes]  # side = 4
    return ConvNet(nn.Sequential(*layers), mlp(dims, activation), "alexnet", activation, width)


def _vgg16(n_classes: int, activation: str, width: float) -> ConvNet:
    features = make_layers(vgg16_cfg(), activation=activation, width=width)
    c_last = scaled(512, width)  # five pools: 32×32 → 1×1
    dims = [c_last] + [scaled(h, width) for h in VGG16_FC] + [n_classes]
    return ConvNet(features, mlp(dims, activation), "vgg16", activation, width)


def kaiming_init_(model: nn.Module, activation: str, generator: torch.Generator) -> None:
    """Kaiming-normal (fan_in, gain of ``activation``) weights, zero biases, for every conv/linear."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity=activation, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def build_model(arch: str, *, n_classes: int = 10, activation: str = "relu", width: float = 1.0, seed: int = 0) -> nn.Module:
    """AlexNet or VGG-16 for 32×32 inputs with ``n_classes`` logits, Kaiming-initialised from ``seed``."""
    _check(arch, activation, width, n_classes)
    with torch.random.fork_rng(devices=[]):  # module constructors draw default inits; keep caller's RNG
        model = (_alexnet if arch == "alexnet" else _vgg16)(n_classes, activation, float(width))
    kaiming_init_(model, activation, torch.Generator().manual_seed(int(seed)))
    return model


def param_count(arch: str, *, n_classes: int = 10, width: float = 1.0) -> int:
    """The parameter count from the layer lists alone (no model built):
    a k×k conv c→c' has k²cc' + c' parameters, a linear a→b has ab + b."""
    _check(arch, "relu", width, n_classes)
    total, c_in = 0, 3
    if arch == "alexnet":
        convs = [scaled(c, width) for c, _ in ALEXNET_CONVS]
        flat_side, fcs = 4, ALEXNET_FC
    else:
        convs = [scaled(int(v), width) for v in vgg16_cfg() if v != "M"]
        flat_side, fcs = 1, VGG16_FC
    for c in convs:
        total += 9 * c_in * c + c
        c_in = c
    dims = [c_in * flat_side**2] + [scaled(h, width) for h in fcs] + [n_classes]
    total += sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))
    return total


def forward_flops(arch: str, *, n_classes: int = 10, width: float = 1.0) -> int:
    """Floating-point operations of one image's forward pass (2 per multiply-add of every conv and
    linear layer; activations and pools left out): the unit of the CLI's cost estimate."""
    _check(arch, "relu", width, n_classes)
    total, c_in, side = 0, 3, IMAGE_SIZE
    if arch == "alexnet":
        layers = [(scaled(c, width), pool) for c, pool in ALEXNET_CONVS]
        fcs = ALEXNET_FC
    else:
        cfg = vgg16_cfg()
        layers = [(scaled(int(v), width), nxt == "M") for v, nxt in zip(cfg, cfg[1:] + [None]) if v != "M"]
        fcs = VGG16_FC
    for c, pool in layers:
        total += 2 * 9 * c_in * c * side * side
        c_in = c
        if pool:
            side //= 2
    dims = [c_in * side * side] + [scaled(h, width) for h in fcs] + [n_classes]
    return total + sum(2 * a * b for a, b in zip(dims[:-1], dims[1:]))


def param_table(n_classes: int = 10, widths: tuple[float, ...] = (1.0,)) -> list[dict]:
    """Rows ``{arch, width, n_classes, n_params}`` for the README (activation does not change counts)."""
    return [
        {"arch": a, "width": w, "n_classes": n_classes, "n_params": param_count(a, n_classes=n_classes, width=w)}
        for a in ARCHS
        for w in widths
    ]
