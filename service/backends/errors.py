"""Errors shared by the backends (a module of its own so that backends need not import the package)."""


class BackendLoadError(RuntimeError):
    """The configured model could not be loaded; the message says why and what to set."""
