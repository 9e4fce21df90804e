"""Local, offline question answering over news articles, with checked citations."""

__version__ = "0.1.0"

from rag.config import Settings, load_settings  # noqa: E402

__all__ = ["Settings", "load_settings", "__version__"]
