"""Escalation signals and rules, the context packet, the Redis queue and the agent console."""
