"""The action server registers every action the domain names, each under its own name."""

from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

DOMAIN_DIR = Path(__file__).resolve().parents[2] / "domain"


def test_every_domain_action_is_served_and_nothing_unnamed_is():
    executor = ActionExecutor()
    executor.register_package("actions")  # what `python -m rasa_sdk --actions actions` does
    served = set(executor.actions)
    wanted = {
        name
        for path in DOMAIN_DIR.glob("*.yml")
        for name in yaml.safe_load(path.read_text(encoding="utf-8")).get("actions") or []
    }
    assert wanted <= served
    assert not [name for name in served if name.endswith("_") or "__" in name]
