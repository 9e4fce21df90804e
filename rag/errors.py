"""One family for everything a user can cause and fix: a bad question, a bad file, an index that does
not match or is damaged, a missing or corrupt model, a build already running, a bad setting.

The CLI catches `RagError` once (a clean message, exit code 2) and each chat handler catches it once
(a ⚠ message in the page); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class RagError(Exception):
    """Something the user can act on; the message says what happened and what to do."""


class QuestionError(RagError, ValueError):
    """The question cannot be answered as asked (empty, too long, in an unsupported language)."""


class PromptTooLong(QuestionError):
    """The question (with the conversation) leaves no room for evidence and an answer."""


class SettingsError(RagError, ValueError):
    """A setting in rag.toml, the environment or an option is unknown or invalid."""


class SourceError(RagError, ValueError):
    """A file that cannot be used as a source; the message says why."""


class IndexProblem(RagError, RuntimeError):
    """Base for index problems the user must act on."""


class IndexMissing(IndexProblem):
    """No index has been built yet."""


class IndexMismatch(IndexProblem):
    """The index on disk was built with another embedder, chunker or format version."""


class IndexDamaged(IndexProblem):
    """A file of the index is missing, truncated or altered; `rag index` rebuilds it."""


class BuildInProgress(IndexProblem):
    """Another build of the same index is running."""


class ModelError(RagError, RuntimeError):
    """The answering model cannot be made available or loaded; the message says why and what to do."""


class MissingDependency(RagError, ImportError):
    """An optional backend is not installed; the message says what to install."""
