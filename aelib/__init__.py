"""aelib: autoencoders and variational autoencoders in Keras 3, tested and measured.

The package behind the book *Autoencoders and Variational Autoencoders,
Measured*. Each module holds one concept:

- :mod:`aelib.data`: MNIST and Fashion-MNIST from a chain of sources that works
  offline, and binarization helpers;
- :mod:`aelib.validation`: the checks every public entry point runs on input;
- :mod:`aelib.layers`: the reparameterization layer;
- :mod:`aelib.networks`: dense and convolutional encoders and decoders;
- :mod:`aelib.models`: :class:`Autoencoder` and :class:`VAE`;
- :mod:`aelib.denoising`, :mod:`aelib.sparse`, :mod:`aelib.conditional`: the
  denoising and sparse autoencoders and the conditional VAE;
- :mod:`aelib.optimizers`: Adam with a fused update, the models' default;
- :mod:`aelib.callbacks`: KL annealing and snapshots of samples during training;
- :mod:`aelib.losses`: likelihood and KL terms;
- :mod:`aelib.evaluate`: ELBO, importance-weighted log-likelihood, active units;
- :mod:`aelib.interpolation`: linear and spherical paths between codes;
- :mod:`aelib.detection`: ROC curves and AUC for anomaly detection;
- :mod:`aelib.plotting`: the book's figures;
- :mod:`aelib.diagrams`: architectures, graphical models, the reparameterization
  trick and the ELBO's terms, drawn by code;
- :mod:`aelib.quality`: how digit-like generated images are;
- :mod:`aelib.seeding`: one call for reproducible runs;
- :mod:`aelib.backends`: what differs between TensorFlow, JAX and PyTorch.
"""

from aelib import (
    backends,
    callbacks,
    conditional,
    data,
    denoising,
    detection,
    diagrams,
    evaluate,
    interpolation,
    layers,
    losses,
    models,
    networks,
    optimizers,
    plotting,
    quality,
    sparse,
    validation,
)
from aelib.callbacks import KLAnnealing, SampleSnapshots
from aelib.conditional import ConditionalVAE
from aelib.data import (
    Dataset,
    DatasetUnavailableError,
    DynamicBinarization,
    binarize,
    flatten,
    load_fashion_mnist,
    load_mnist,
    sample_binarize,
)
from aelib.denoising import DenoisingAutoencoder
from aelib.detection import roc_auc, roc_curve
from aelib.evaluate import (
    active_units,
    bits_per_dim,
    elbo,
    iwae_log_likelihood,
    kl_per_dimension,
    reconstruction_error,
)
from aelib.interpolation import lerp, slerp
from aelib.layers import Sampling
from aelib.models import VAE, Autoencoder
from aelib.optimizers import FusedAdam, default_optimizer
from aelib.seeding import set_seed
from aelib.sparse import SparseAutoencoder
from aelib.validation import validate_images

__version__ = "0.1.0"

__all__ = [
    "VAE",
    "Autoencoder",
    "ConditionalVAE",
    "DenoisingAutoencoder",
    "SparseAutoencoder",
    "KLAnnealing",
    "SampleSnapshots",
    "FusedAdam",
    "Dataset",
    "DatasetUnavailableError",
    "DynamicBinarization",
    "Sampling",
    "active_units",
    "backends",
    "binarize",
    "bits_per_dim",
    "callbacks",
    "conditional",
    "data",
    "default_optimizer",
    "denoising",
    "detection",
    "diagrams",
    "elbo",
    "evaluate",
    "flatten",
    "interpolation",
    "iwae_log_likelihood",
    "kl_per_dimension",
    "layers",
    "lerp",
    "load_fashion_mnist",
    "load_mnist",
    "losses",
    "models",
    "networks",
    "optimizers",
    "plotting",
    "quality",
    "reconstruction_error",
    "roc_auc",
    "roc_curve",
    "sample_binarize",
    "set_seed",
    "slerp",
    "sparse",
    "validate_images",
    "validation",
]
