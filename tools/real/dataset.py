"""The labelled real turns, joined with their texts from the corpus at run time."""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LABELS = Path(__file__).resolve().parent / "labels.jsonl"
# Sessions 320-679, whose style the training data was written in (never copied): labelled later
# by the same rules, they are a second check that what was tuned on dev holds on other sessions.
STUDIED_LABELS = Path(__file__).resolve().parent / "labels_studied.jsonl"
STUDIED = "studied"
CORPUS = ROOT.parent / "shared" / "data" / "jddc" / "sessions.jsonl"
OUT_OF_SCOPE = "out_of_scope"
VARIANTS = ("masked", "replaced")


class CorpusMissing(Exception):
    """The corpus is not next to the project (a user's clone has no ../shared)."""


@dataclass(frozen=True)
class Turn:
    session: str
    turn: int
    text: str
    history: tuple[str, ...]  # the customer's earlier messages in the session, oldest first
    intent: str
    faq_id: str | None
    handoff: bool
    angry: bool
    context: bool
    split: str  # dev | test (sessions 0-319, by split_of) | studied (sessions 320-679)

    @property
    def in_scope(self) -> bool:
        return self.intent != OUT_OF_SCOPE


def split_of(session: str) -> str:
    """dev when the session id's sha1 is even, else test: fixed, and independent of order."""
    return "dev" if int(hashlib.sha1(session.encode()).hexdigest(), 16) % 2 == 0 else "test"


def load(labels: Path = LABELS, corpus: Path = CORPUS, split: str | None = None) -> list[Turn]:
    """The labelled turns with their texts; ``split`` None splits by session (``split_of``)."""
    if not corpus.exists():
        raise CorpusMissing(
            f"the real-chat corpus is not at {corpus}: this evaluation needs the JDDC sample "
            "(../shared/data/jddc/sessions.jsonl next to the project); skipped"
        )
    sessions: dict[str, list[dict[str, str]]] = {}
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            sessions[record["session"]] = record["turns"]
    turns = []
    for number, line in enumerate(labels.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        label = json.loads(line)
        dialogue = sessions.get(label["session"])
        index = int(label["turn"])
        if dialogue is None or index >= len(dialogue) or dialogue[index]["role"] != "customer":
            raise ValueError(f"{labels}:{number}: no customer turn {index} in {label['session']}")
        history = tuple(t["text"] for t in dialogue[:index] if t["role"] == "customer")
        turns.append(
            Turn(
                session=label["session"],
                turn=index,
                text=dialogue[index]["text"],
                history=history,
                intent=label["intent"],
                faq_id=label["faq_id"],
                handoff=bool(label["handoff"]),
                angry=bool(label["angry"]),
                context=bool(label["context"]),
                split=split or split_of(label["session"]),
            )
        )
    return turns


# Realistic values for the corpus's masks, so that a model is also judged on what a customer
# really types there (a model that only works on masked text has learnt the masks).
_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄丽")
_ADDRESSES = (
    "朝阳区建国路88号", "浦东新区世纪大道100号", "天河区体育西路191号", "西湖区文三路90号",
    "武侯区人民南路四段1号", "江北区观音桥步行街8号",
)  # fmt: skip
_STATIONS = ("北京朝阳望京站", "上海浦东张江站", "广州天河棠下站", "杭州西湖古荡站")
_ORGANISATIONS = ("杭州云帆科技有限公司", "北京长青贸易有限公司", "深圳明远电子有限公司")
_MASK = re.compile(
    r"\[(订单|数字|金额|日期|时间|链接|地址|姓名|电话|站点|组织机构|邮箱|身份证号)x\]"
)


_VALUES: dict[str, Callable[[random.Random], str]] = {
    "订单": lambda rng: f"202511030{rng.randint(1, 64):04d}",  # a demo-store order number
    "数字": lambda rng: str(rng.randint(1, 30)),
    "金额": lambda rng: f"{rng.randint(19, 2999)}.00",
    "日期": lambda rng: f"2025-11-{rng.randint(1, 28):02d}",
    "时间": lambda rng: (
        f"{rng.randint(8, 22):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    ),
    "链接": lambda rng: f"https://item.jd.com/1000{rng.randint(10**7, 10**8 - 1)}.html",
    "电话": lambda rng: f"1{rng.choice('3589')}{rng.randint(10**8, 10**9 - 1)}",
    "邮箱": lambda rng: f"user{rng.randint(100, 999)}@163.com",
    "身份证号": lambda rng: f"1101051990{rng.randint(10**7, 10**8 - 1)}",
    "地址": lambda rng: rng.choice(_ADDRESSES),
    "姓名": lambda rng: rng.choice(_NAMES),
    "站点": lambda rng: rng.choice(_STATIONS),
    "组织机构": lambda rng: rng.choice(_ORGANISATIONS),
}


# The corpus masks every run of digits as [数字x]: an order, product, tracking or phone number,
# a tax id, a day or an hour. The words around it say which, so the replacement is one a
# customer would have typed there (VA12 is no tracking number, 手机号9 no phone).
_DIGITS_AFTER: tuple[tuple[re.Pattern[str], Callable[[random.Random], str]], ...] = (
    (re.compile(r"订单(编号|号)?\s*[:：]?[\s;]*$"), _VALUES["订单"]),
    (
        re.compile(r"商品(ID|id|号|编号)\s*[:：]?[\s;]*$"),
        lambda rng: str(rng.randint(10**9, 10**12)),
    ),
    (re.compile(r"(JD)?V[A-G]$"), lambda rng: str(rng.randint(10**10, 10**11 - 1))),
    (
        re.compile(r"(运单|快递单|服务单)号?\s*[:：是]?\s*$"),
        lambda rng: str(rng.randint(10**9, 10**12)),
    ),
    (
        re.compile(r"(税号|识别号)\s*[:：是]?\s*$"),
        lambda rng: f"9133{rng.randint(10**5, 10**6 - 1)}",
    ),
    (re.compile(r"(手机|电话|号码|联系方式)号?\s*[:：是为]?\s*$"), _VALUES["电话"]),
)
_DIGITS_BEFORE: tuple[tuple[str, Callable[[random.Random], str]], ...] = (
    ("年", lambda rng: "2025"),
    ("月", lambda rng: str(rng.randint(1, 12))),
    ("日", lambda rng: str(rng.randint(1, 28))),
    ("号", lambda rng: str(rng.randint(1, 28))),
    ("点", lambda rng: str(rng.randint(8, 22))),
    ("时", lambda rng: str(rng.randint(8, 22))),
    ("分", lambda rng: str(rng.randint(0, 59))),
)


def _digits(text: str, match: re.Match[str], rng: random.Random) -> str:
    before, after = text[max(0, match.start() - 8) : match.start()], text[match.end() :]
    for pattern, value in _DIGITS_AFTER:
        if pattern.search(before):
            return value(rng)
    for word, value in _DIGITS_BEFORE:
        if after.startswith(word):
            return value(rng)
    return _VALUES["数字"](rng)


def replace_masks(text: str, seed: str) -> str:
    """The text with every mask replaced by a realistic value, the same for the same seed."""
    rng = random.Random(seed)

    def value(match: re.Match[str]) -> str:
        kind = match.group(1)
        return _digits(text, match, rng) if kind == "数字" else _VALUES[kind](rng)

    return _MASK.sub(value, text)


def variant_text(turn_text: str, variant: str, seed: str) -> str:
    return turn_text if variant == "masked" else replace_masks(turn_text, seed)
