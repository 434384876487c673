"""Training and evaluating the sentiment and anger models that ``handoff.sentiment`` serves."""
