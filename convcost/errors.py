"""One exception family. Every message tells the user what to change.

The CLI maps :class:`ConvcostError` to a one-line message on stderr and exit code 2;
anything else is an internal failure (exit code 1).
"""

from __future__ import annotations


class ConvcostError(Exception):
    """Base of every error convcost raises on purpose."""


class InvalidArgumentError(ConvcostError, ValueError):
    """A formula or command got an argument it cannot use (size, groups, padding, ...)."""


class ModelSpecError(ConvcostError, ValueError):
    """A model spec (zoo name, option, or ``file.py:Name``) cannot be resolved."""


class CaptureError(ConvcostError, RuntimeError):
    """Running the model to record its ops failed; the message names the layer and shapes."""


__all__ = ["CaptureError", "ConvcostError", "InvalidArgumentError", "ModelSpecError"]
