"""Sentimento's shared model service: sentiment of Brazilian-Portuguese text."""
