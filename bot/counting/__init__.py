"""Counting channel messages: which count and the value types (:mod:`.model`, pure), the
counter's limits and their defaults (:mod:`.limits`), taking an event in (:mod:`.usecases`) and
the batching counter (:mod:`.counter`)."""
