"""Encoder errors: domain words only; the CLI and proxy map them to exit codes and HTTP statuses."""


class EncoderError(Exception):
    """Base class for encoder problems."""


class EncoderLoadError(EncoderError):
    """An unknown preset, or a model that could not be loaded; the message names what was tried."""


class FingerprintMismatchError(EncoderError):
    """An index was built with a different encoder than the one chosen for it."""
