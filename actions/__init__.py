"""Thin Rasa custom actions: one module per concern, replies from the domain's responses."""
