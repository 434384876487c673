"""Custom components of the Rasa NLU pipeline (loaded by the Rasa server, Python 3.10).

They import only the standard library, Rasa, numpy and ``core`` (pure standard library), so
the Rasa environment needs nothing of the kefu environment.
"""
