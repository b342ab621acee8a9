"""aelib: autoencoders and variational autoencoders in Keras 3, tested and measured.

The package behind the book *Autoencoders and Variational Autoencoders,
Measured*. Each module holds one concept:

- :mod:`aelib.data`: MNIST and Fashion-MNIST from a chain of sources that works
  offline, and binarization helpers;
- :mod:`aelib.validation`: the checks every public entry point runs on input;
- :mod:`aelib.layers`: the reparameterization layer;
- :mod:`aelib.models`: :class:`Autoencoder` and :class:`VAE`;
- :mod:`aelib.losses`: likelihood and KL terms;
- :mod:`aelib.evaluate`: ELBO and importance-weighted log-likelihood;
- :mod:`aelib.plotting`: the book's figures;
- :mod:`aelib.quality`: how digit-like generated images are;
- :mod:`aelib.seeding`: one call for reproducible runs.
"""

from aelib import (
    data,
    evaluate,
    layers,
    losses,
    models,
    plotting,
    quality,
    validation,
)
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
from aelib.evaluate import bits_per_dim, elbo, iwae_log_likelihood, reconstruction_error
from aelib.layers import Sampling
from aelib.models import VAE, Autoencoder
from aelib.seeding import set_seed
from aelib.validation import validate_images

__version__ = "0.1.0"

__all__ = [
    "VAE",
    "Autoencoder",
    "Dataset",
    "DatasetUnavailableError",
    "DynamicBinarization",
    "Sampling",
    "binarize",
    "bits_per_dim",
    "data",
    "elbo",
    "evaluate",
    "flatten",
    "iwae_log_likelihood",
    "layers",
    "load_fashion_mnist",
    "load_mnist",
    "losses",
    "models",
    "plotting",
    "quality",
    "reconstruction_error",
    "sample_binarize",
    "set_seed",
    "validate_images",
    "validation",
]
