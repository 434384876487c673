"""The assistant judged on real shop chat: labels in ``labels.jsonl`` (rules in LABELLING.md),
texts joined at run time from the JDDC sample in ``../shared/data/jddc`` (never copied here).
``python -m tools.real`` (``make bench-real``) prints every number."""
