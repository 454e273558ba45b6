"""Hessian-vector products through a convolution applied to the data, without the wasted term.

A held-graph product differentiates the gradient graph once more. For a 2-d convolution,
PyTorch's second derivative (``_convolution_double_backward``) also computes the gradient with
respect to the convolution's *input* whenever the weight's second-order gradient is given, even
when that input is the data and nothing asks for it: a transposed convolution the size of the
data, off the fast kernels. On the cpu AlexNet (first layer 3 → 4 channels on 256 images of
32 × 32) that one term is about a fifth of a product's time (bench/telemetry_bench.py, section 4).

:func:`data_convolutions` is a context under which a ``conv2d`` whose input does not require
a gradient and whose weight does runs as :class:`_DataConv`: the same forward, the same first
derivative (``aten.convolution_backward`` with the same arguments and mask as autograd's own,
so gradients are bit for bit the same), and a second derivative that computes only what an HVP
needs, the gradient with respect to the incoming gradient: conv(x, ġ_W) + ġ_b. Every other
call passes through unchanged. simlab builds gradient graphs for products under it
(:class:`simlab.operators.HVPOperator`, :meth:`simlab.landscape.Landscape.chunk_hvp`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.nn.modules.utils import _pair
from torch.overrides import TorchFunctionMode


class _WeightGrad(torch.autograd.Function):
    """(∂L/∂W, ∂L/∂b) of a convolution of constant data x, as a function of the incoming
    gradient gO; linear in gO, so its own derivative is the convolution of x with (ġ_W, ġ_b)."""

    @staticmethod
    def forward(ctx, g_out, x, w, has_bias, stride, padding, dilation, groups):
        ctx.save_for_backward(x)
        ctx.conf = (stride, padding, dilation, groups)
        bias_sizes = [w.shape[0]] if has_bias else None
        _, g_w, g_b = torch.ops.aten.convolution_backward(
            g_out, x, w, bias_sizes, stride, padding, dilation, False, [0, 0], groups,
            [False, True, has_bias])
        return g_w, (g_b if has_bias else g_w.new_zeros(0))

    @staticmethod
    def backward(ctx, gg_w, gg_b):
        (x,) = ctx.saved_tensors
        gg_out = F.conv2d(x, gg_w, None, *ctx.conf)
        if gg_b is not None and gg_b.numel():  # added after the convolution, as autograd's own does
            gg_out = gg_out + gg_b.reshape(1, -1, 1, 1)
        return gg_out, None, None, None, None, None, None, None


class _DataConv(torch.autograd.Function):
    """conv2d(x, w, b) of data x that needs no gradient (see the module docstring)."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, padding, dilation, groups)
        ctx.has_bias = b is not None
        return F.conv2d(x, w, b, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, g_out):
        x, w = ctx.saved_tensors
        g_w, g_b = _WeightGrad.apply(g_out, x, w.detach(), ctx.has_bias, *ctx.conf)
        return None, g_w, (g_b if ctx.has_bias else None), None, None, None, None


def _conv_args(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return input, weight, bias, stride, padding, dilation, groups


class data_convolutions(TorchFunctionMode):
    """``with data_convolutions(): ...`` runs each conv2d of data (input without a gradient,
    weight with one, 4-d, numeric padding) as :class:`_DataConv`; anything else as it was."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.conv2d:
            x, w, b, stride, padding, dilation, groups = _conv_args(*args, **kwargs)
            if (isinstance(x, torch.Tensor) and x.dim() == 4 and not x.requires_grad
                    and w.requires_grad and not isinstance(padding, str)):
                return _DataConv.apply(x, w, b, list(_pair(stride)), list(_pair(padding)),
                                       list(_pair(dilation)), groups)
        return func(*args, **kwargs)
