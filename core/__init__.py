"""What every other package shares, importing nothing of ours: settings, Redis key names, the
shared records, the conversation store, masking, language detection and the texts customers and
agents read (``messages.yml``).

``pasted`` and ``followup`` use the standard library only: the Rasa server's components
(``rasa_ext``, Python 3.10) import them. The rest needs the kefu environment (redis, PyYAML).
"""
