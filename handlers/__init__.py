"""Slack listeners, one module per listener kind, each exposing ``register(app, ...)``."""
