"""Counting channel messages: which count and the value types (:mod:`.model`, pure), taking an
event in (:mod:`.usecases`) and the batching counter (:mod:`.counter`)."""
