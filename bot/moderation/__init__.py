"""Moderation: when a thread turns negative (:mod:`.rules`, pure), what moderators and members
read (:mod:`.views`), alerts raised, posted and kept (:mod:`.alerts`) and who may change the
settings (:mod:`.usecases`)."""
