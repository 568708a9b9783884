"""sk_l2rw: learning to reweight examples for noisy labels and class imbalance.

A scikit-learn compatible implementation of Ren et al., "Learning to Reweight
Examples for Robust Deep Learning" (ICML 2018), built on skorch and PyTorch.
"""

from . import datasets, model_selection
from ._classifier import MetaReweightClassifier
from ._modules import MLP
from ._net import DivergedError, MetaReweightNet, MetaReweightRegressorNet
from ._regressor import MetaReweightRegressor
from ._reweighted import ReweightedClassifier, ReweightedRegressor

__version__ = "0.1.0"

__all__ = [
    "DivergedError",
    "MLP",
    "MetaReweightClassifier",
    "MetaReweightNet",
    "MetaReweightRegressor",
    "MetaReweightRegressorNet",
    "ReweightedClassifier",
    "ReweightedRegressor",
    "datasets",
    "model_selection",
    "__version__",
]
