"""What the Rasa server itself loads besides the model (not the pipeline: editing this module
retrains nothing): the tracker store named in ``endpoints.yml``, and a faster check of the
action server's answers, applied when this module is loaded (by the tracker store and by
kefu's channel, ``credentials.yml``), before the first message.

Both do what Rasa 3.6.21 does, with the same results, in less time; measured in a turn of the
benchmark conversation (``tools/bench/system.py``) on this 2-core machine.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.trackers import DialogueStateTracker


def _check_action_answers_once() -> None:
    """Rasa checks every answer of the action server with ``jsonschema.validate``, which first
    checks the events schema (large, and the same every time) against the meta-schema and
    builds a new validator: about 20 ms of CPU per custom action call, a third of a turn. Here
    the schema is checked and the validator built once; the same errors (``best_match``, as
    ``validate`` raises them) with the same message."""
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema)

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


_check_action_answers_once()


class KefuRedisTrackerStore(RedisTrackerStore):
    """Rasa's Redis tracker store, with its merge on save made linear.

    Rasa hands a turn the conversation's last session, which starts at ``action_session_start``;
    the stored record starts one event earlier (the ``session_started_metadata`` slot), so the
    shortcut of ``_merge_trackers`` (the record is a prefix of the tracker) never applies, and
    every save compared each event of the tracker with each stored one (``as_dict``, n x m:
    4 ms at 60 events, 14 ms at 100, growing with the square of the conversation). The same
    merge, with the stored events looked up by timestamp: equal events have equal timestamps."""

    @staticmethod
    def _merge_trackers(
        prior_tracker: DialogueStateTracker, tracker: DialogueStateTracker
    ) -> DialogueStateTracker:
        if not prior_tracker.events:
            return tracker
        last_event_timestamp = prior_tracker.events[-1].timestamp
        past_tracker = tracker.travel_back_in_time(target_time=last_event_timestamp)
        if past_tracker.events == prior_tracker.events:
            return tracker
        merged = tracker.init_copy()
        merged.update_with_events(list(prior_tracker.events), override_timestamp=False, domain=None)
        seen: defaultdict[Any, list[dict[str, Any]]] = defaultdict(list)
        for event in merged.events:
            as_dict = event.as_dict()
            seen[as_dict.get("timestamp")].append(as_dict)
        for new_event in tracker.events:
            as_dict = new_event.as_dict()
            same_time = seen[as_dict.get("timestamp")]
            if as_dict not in same_time:
                merged.update(new_event)
                same_time.append(as_dict)
        return merged
