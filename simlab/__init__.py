"""simlab: a laboratory for published claims about the loss landscape of neural networks.

Public API (see the README's "Your own model")::

    from simlab import Landscape, top_eigen, measure, train, Record
    from simlab import TrainConfig, run, EdgeMonitor, RunSpec, run_spec
    from simlab import trace, slq, HVPOperator, GGNOperator, BlockOperator

Every public name, with its signature and docstring: ``docs/API.md`` (``python -m simlab.apidoc``).

The core (this package) is shared by both regimes:

- :mod:`simlab.landscape`   loss, gradient, Hessian-vector product and dense Hessian over the
                            whole training set, in chunks sized to a memory budget
- :mod:`simlab.distributed` world size, rank, sharding and the all-reduce (torchrun)
- :mod:`simlab.operators`   one linear-operator type for a dense matrix, the HVP, the
                            Gauss–Newton matrix and parameter blocks (one layer's)
- :mod:`simlab.trace_estimators` the trace from products: Hutchinson and Hutch++
- :mod:`simlab.spectrum`    eigensolvers over an operator (lanczos, arpack, power, dense)
- :mod:`simlab.density`     the spectral density by stochastic Lanczos quadrature (SLQ)
- :mod:`simlab.telemetry`   the measurements of Lowell 2022 and Sagun et al. 2016 at one point
- :mod:`simlab.trainer`     full-batch gradient descent with a telemetry cadence and stop rules
- :mod:`simlab.record`      the run directory: config, telemetry, arrays, weights, summary
- :mod:`simlab.record_schema` the JSON type of each record field the readers use
- :mod:`simlab.own`         ``run``: your own model and data trained into a complete record
- :mod:`simlab.runspec`     ``RunSpec`` and ``run_spec``: one declared run (toy, scale, a paper
                            grid's entry) into a complete record, whichever command asks
- :mod:`simlab.monitor`     ``EdgeMonitor``: is your own training loop (SGD, Adam) on the edge?
- :mod:`simlab.claims`      one evaluator per claim of CLAIMS.md, reading records only

The regimes are :mod:`simlab.toy` (exact dense Hessians) and :mod:`simlab.scale`
(AlexNet / VGG-16 on CIFAR-10, matrix-free).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# name -> module; imported on first use so that ``import simlab`` stays light and no submodule
# imports another through the package
_PUBLIC = {
    "Landscape": "simlab.landscape",
    "top_eigen": "simlab.spectrum",
    "measure": "simlab.telemetry",
    "train": "simlab.trainer",
    "Record": "simlab.record",
    "TrainConfig": "simlab.trainer",
    "run": "simlab.own",
    "RunSpec": "simlab.runspec",
    "run_spec": "simlab.runspec",
    "EdgeMonitor": "simlab.monitor",
    "trace": "simlab.trace_estimators",
    "hutchinson": "simlab.trace_estimators",
    "hutchpp": "simlab.trace_estimators",
    "DenseOperator": "simlab.operators",
    "GGNOperator": "simlab.operators",
    "BlockOperator": "simlab.operators",
    "HVPOperator": "simlab.operators",
    "slq": "simlab.density",
}
__all__ = list(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'simlab' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_PUBLIC])
