"""Users' feedback on the model's answers ("Concordo" / "Discordo"), kept as counts only, and
``/sentimento modelo``: the model in use, its figures, what users said, and a threshold advice."""
