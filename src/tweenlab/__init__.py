"""tweenlab turns raw video into deep-learning datasets.

The library is the product; the CLI (``tweenlab``) and, later, the server and browser editor sit
on top of the same code. Start with ``tweenlab.media`` for frame-exact video access.
"""

from importlib.metadata import PackageNotFoundError, version

from tweenlab.errors import TweenlabError
from tweenlab.settings import Settings

try:
    __version__ = version("tweenlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["Settings", "TweenlabError", "__version__"]
