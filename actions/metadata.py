"""What the kefu router attaches to each customer message (channel, signals, identity)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def router_metadata(tracker: Tracker) -> dict[str, Any]:
    """The router's metadata on the latest customer message. Only the router sets ``signals``:
    an external intent's event carries Rasa's own metadata, and is skipped."""
    for event in reversed(tracker.events):
        metadata = event.get("metadata") or {}
        if event.get("event") == "user" and "signals" in metadata:
            return dict(metadata)
    return {}


def channel_customer(tracker: Tracker) -> str:
    """The customer the channel vouched for (a signed shop login), or "" when anonymous: never
    anything a customer typed, since only the router writes this metadata."""
    return str(router_metadata(tracker).get("customer_id") or "")
