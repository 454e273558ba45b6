"""simlab: a laboratory for published claims about the loss landscape of neural networks.

The core (this package) is shared by both regimes:

- :mod:`simlab.landscape`  loss, gradient, Hessian-vector product over the whole training set
- :mod:`simlab.operators`  one linear-operator type for a dense matrix and for the HVP
- :mod:`simlab.spectrum`   eigensolvers over an operator (dense, lanczos, power) and SLQ density
- :mod:`simlab.telemetry`  the measurements of Lowell 2022 and Sagun et al. 2016 at one point
- :mod:`simlab.trainer`    full-batch gradient descent with a telemetry cadence and stop rules
- :mod:`simlab.record`     the run directory: config, telemetry, arrays, weights, summary
- :mod:`simlab.claims`     one evaluator per claim of CLAIMS.md, reading records only

The regimes are :mod:`simlab.toy` (exact dense Hessians) and :mod:`simlab.scale`
(AlexNet / VGG-16 on CIFAR-10, matrix-free).
"""

__version__ = "0.1.0"
