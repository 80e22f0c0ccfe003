"""Sentimento's Slack bot (Bolt for Python)."""
