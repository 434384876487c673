"""The Rasa assistant's data (domain, NLU training data, test set, conversation tests): the
rules issue 3 and SERVICE-NORMS.md set for it, checked without training a model."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.pasted import ORDER_ID, TRACKING_NO

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL_INTENTS = {"escalate", "handoff_closed"}  # triggered from code, never typed
ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]*\)")
HAN = re.compile(r"[\u4e00-\u9fff]")
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf]")
FORBIDDEN = ("您错了", "你错了", "这不是我们的责任", "不是我们的责任")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _examples(paths: list[Path]) -> dict[str, list[str]]:
    """intent -> plain texts (entity annotations removed)."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        for item in _load(path).get("nlu") or []:
            if "intent" in item:
                for line in item["examples"].splitlines():
                    text = line.strip().removeprefix("- ").strip()
                    if text:
                        found[item["intent"]].append(ANNOTATION.sub(r"\1", text))
    return found


def _regexes() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for path in (ROOT / "data" / "nlu").glob("*.yml"):
        for item in _load(path).get("nlu") or []:
            if "regex" in item:
                lines = item["examples"].splitlines()
                found[item["regex"]] += [ln.strip()[2:] for ln in lines if ln.strip()]
    return found


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    """The domain files of domain/ merged the way Rasa merges them."""
    merged: dict[str, Any] = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        for section, value in _load(path).items():
            if isinstance(value, list):
                merged.setdefault(section, []).extend(value)
            elif isinstance(value, dict):
                merged.setdefault(section, {}).update(value)
    return merged


@pytest.fixture(scope="module")
def training() -> dict[str, list[str]]:
    return _examples(sorted((ROOT / "data" / "nlu").glob("*.yml")))


@pytest.fixture(scope="module")
def test_set() -> dict[str, list[str]]:
    return _examples(sorted((ROOT / "tests" / "nlu").glob("*.yml")))


def test_every_intent_has_enough_chinese_and_english_examples(
    domain: dict[str, Any], training: dict[str, list[str]]
) -> None:
    for intent in set(domain["intents"]) - EXTERNAL_INTENTS:
        texts = training[intent]
        chinese = [t for t in texts if HAN.search(t)]
        english = [t for t in texts if not HAN.search(t) and re.search(r"[A-Za-z]{2}", t)]
        assert len(chinese) >= 40, (intent, len(chinese))
        assert len(english) >= 10, (intent, len(english))


def test_no_example_is_labelled_twice(training: dict[str, list[str]]) -> None:
    labels: dict[str, set[str]] = defaultdict(set)
    for intent, texts in training.items():
        for text in texts:
            labels[text].add(intent)
    assert {t: i for t, i in labels.items() if len(i) > 1} == {}


def test_the_test_set_is_large_separate_and_covers_every_intent(
    domain: dict[str, Any], training: dict[str, list[str]], test_set: dict[str, list[str]]
) -> None:
    assert sum(len(t) for t in test_set.values()) >= 300
    assert (ROOT / "tests" / "nlu" / "hard.yml").exists()
    hard = _examples([ROOT / "tests" / "nlu" / "hard.yml"])
    assert sum(len(t) for t in hard.values()) >= 80
    assert set(test_set) == set(domain["intents"]) - EXTERNAL_INTENTS

    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip().lower()

    trained = {norm(t) for texts in training.values() for t in texts}
    overlap = sorted(t for texts in test_set.values() for t in texts if norm(t) in trained)
    assert overlap == []
    duplicates = Counter(norm(t) for texts in test_set.values() for t in texts)
    assert [t for t, n in duplicates.items() if n > 1] == []


def test_every_response_has_english_first_and_a_chinese_default(domain: dict[str, Any]) -> None:
    for name, variants in domain["responses"].items():
        first, *rest = variants
        assert first.get("condition") == [{"type": "slot", "name": "language", "value": "en"}], name
        defaults = [v for v in rest if not v.get("condition")]
        assert defaults and HAN.search(defaults[0]["text"]), name


def test_responses_follow_the_service_norms(domain: dict[str, Any]) -> None:
    for name, variants in domain["responses"].items():
        for variant in variants:
            text = variant["text"]
            assert not any(phrase in text for phrase in FORBIDDEN), name
            assert len(EMOJI.findall(text)) <= 2, name


def test_names_the_actions_use_still_exist(domain: dict[str, Any]) -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "actions").glob("*.py"))
    # "utter_action" is Rasa's own key on bot events (which response produced them).
    used = set(re.findall(r"[\"'](utter_[a-z_]+)[\"']", source)) - {"utter_action"}
    assert used and used <= set(domain["responses"])
    assert {"order_id", "restock_sku", "language"} <= set(domain["slots"])
    # An entity is its name, or {name: {influence_conversation: false}}.
    entities = {e if isinstance(e, str) else next(iter(e)) for e in domain["entities"]}
    assert {"order_id", "faq_id", "product", "sku", "language"} <= entities
    for status in ("unpaid", "paid", "packed", "shipped", "delivered", "refunded", "cancelled"):
        assert f"utter_order_status_{status}" in domain["responses"]


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("订单2025110300012到哪了", "order_id", "2025110300012"),
        ("我的单号3712849056123847562帮我查查", "order_id", "3712849056123847562"),
        ("快递单号SF123456789012查不到", "tracking_no", "SF123456789012"),
        ("运单EM123456789CN", "tracking_no", "EM123456789CN"),
        ("手机尾号1234", "phone_last4", "1234"),
        ("后四位是5678哦", "phone_last4", "5678"),
        ("my phone ends in 2233", "phone_last4", "2233"),
    ],
)
def test_regex_entities_are_found_next_to_chinese(text: str, entity: str, value: str) -> None:
    patterns = {**_regexes(), "order_id": [ORDER_ID.pattern], "tracking_no": [TRACKING_NO.pattern]}
    assert value in {m.group(0) for p in patterns[entity] for m in re.finditer(p, text)}


def test_a_new_mobile_number_is_not_taken_for_an_order_number() -> None:
    regexes = _regexes()
    for text in ("电话改成13912345678", "新号码 18600001111"):
        assert not ORDER_ID.findall(text)
    # 4 digits alone answer "the last 4 digits of the order's phone?"; inside a sentence not.
    for text, found in (("5678", ["5678"]), ("买了5678件", [])):
        assert [m.group(0) for p in regexes["phone_last4"] for m in re.finditer(p, text)] == found


@pytest.mark.parametrize("text", ["快递单号SF123456789012", "12345678901234567890123", "尾号12345"])
def test_no_order_id_or_phone_inside_other_numbers(text: str) -> None:
    order_ids = ORDER_ID.findall(text)
    phones = [m.group(0) for p in _regexes()["phone_last4"] for m in re.finditer(p, text)]
    assert order_ids == [] and phones == []


def test_conversation_tests_cover_the_flows() -> None:
    stories = [
        story
        for path in sorted((ROOT / "tests" / "stories").glob("*.yml"))
        for story in _load(path)["stories"]
    ]
    assert len(stories) >= 30
    actions = {step.get("action") for story in stories for step in story["steps"]}
    assert {
        "action_handoff",
        "action_two_stage_fallback",
        "action_deactivate_loop",
        "utter_complain_ack",
        "action_order_status",
        "action_cancel_order",
        "action_change_order",
        "action_request_return",
        "order_cancel_form",
        "order_change_form",
        "return_form",
        "utter_out_of_scope",
        "utter_stop",
    } <= actions
    texts = [step.get("user", "") for story in stories for step in story["steps"]]
    assert any(t and not HAN.search(t) for t in texts) and any(HAN.search(t) for t in texts)
