"""The App Home tab: its view (:mod:`.views`) and how it is put together and published
(:mod:`.usecases`)."""
