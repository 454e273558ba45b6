"""The toy regime's data: the shared loaders of :mod:`simlab.data`, under the names the toy code
and its users import (one loader per dataset lives there, for both regimes).

Datasets: ``blobs``, ``random``, ``digits``, ``mnist``, ``cifar8`` (see :mod:`simlab.data`);
``load(DataConfig(...))`` returns ``(X float64 [N, d], y long [N], info)``.
"""

from __future__ import annotations

from simlab.data import (  # noqa: F401  (re-exported)
    DATASETS,
    MNIST_NPZ,
    DataConfig,
    blobs,
    cifar8,
    default_data_root,
    digits,
    has_torchvision_mnist,
    load,
    mnist,
    random_inputs,
    standardise_features,
)

_has_torchvision_mnist = has_torchvision_mnist  # the name paper/common.py uses
