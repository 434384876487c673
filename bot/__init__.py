"""Customer channels, the conversation router, settings and the process runner."""
