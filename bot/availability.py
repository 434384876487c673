"""When no agent can answer (outside service hours, or nobody online), the customer is promised
a concrete callback time instead of waiting in an empty line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

# SERVICE-NORMS: what cannot be answered now gets a concrete time ("需要2小时核实，稍后回复您").
CALLBACK_WITHIN = timedelta(hours=2)


@dataclass(frozen=True)
class ServiceHours:
    opens: time
    closes: time

    @classmethod
    def parse(cls, text: str) -> ServiceHours:
        """ "09:00-23:00" (the shop's ``service_hours`` policy value)."""
        try:
            start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError:
            raise ValueError(f"service hours must look like 09:00-23:00, got {text!r}") from None
        return cls(start, end)

    def is_open(self, moment: datetime) -> bool:
        return self.opens <= moment.time() < self.closes

    def next_opening(self, moment: datetime) -> datetime:
        opening = datetime.combine(moment.date(), self.opens)
        return opening if moment < opening else opening + timedelta(days=1)


def callback_promise(now: datetime, hours: ServiceHours, agents_online: int) -> datetime | None:
    """None when an agent is online to pick the ticket up; else when the customer will be called
    back: at the next opening outside service hours, within two hours inside them."""
    if agents_online > 0:
        return None
    if not hours.is_open(now):
        return hours.next_opening(now)
    return now + CALLBACK_WITHIN
