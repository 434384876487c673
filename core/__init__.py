"""What every other package shares and that imports nothing of ours (standard library only,
so the Rasa environment can import it too)."""
