"""Classifying one text or a batch: the :class:`~bot.classify.port.Classifier` port, its
in-process and remote clients (:mod:`.clients`), the answer for one text (:mod:`.answer`) and
what the user reads (:mod:`.views`)."""
