"""The FAQ retriever measured offline: its scores on a labelled file and its speed and memory
(``python -m tools.faq eval FILE.jsonl | bench``); ``python -m faq check`` validates the
knowledge base itself."""
