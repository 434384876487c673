from datetime import datetime

import pytest

from bot.availability import ServiceHours, callback_promise

HOURS = ServiceHours.parse("09:00-23:00")


def test_an_online_agent_means_no_callback_is_needed():
    assert callback_promise(datetime(2026, 11, 22, 3, 0), HOURS, agents_online=1) is None


def test_nobody_online_in_service_hours_is_a_two_hour_promise():
    assert callback_promise(datetime(2026, 11, 22, 14, 0), HOURS, 0) == datetime(
        2026, 11, 22, 16, 0
    )


@pytest.mark.parametrize(
    ("now", "promise"),
    [
        (datetime(2026, 11, 22, 23, 30), datetime(2026, 11, 23, 9, 0)),
        (datetime(2026, 11, 22, 6, 0), datetime(2026, 11, 22, 9, 0)),
    ],
)
def test_outside_service_hours_the_callback_is_at_the_next_opening(now, promise):
    assert callback_promise(now, HOURS, 0) == promise


def test_a_malformed_policy_value_is_a_clear_error():
    with pytest.raises(ValueError, match="09:00-23:00"):
        ServiceHours.parse("nine to five")
