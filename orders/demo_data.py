"""The demo shop: a catalogue, 25 customers and 64 orders in every state, generated
reproducibly (a fixed seed) with times relative to the moment of seeding.

Order ids are stable (2025110300001 ...) and so is the status of each id, so that docs, tests
and a person trying the demo can name them: ``ORDERS_PER_STATUS`` numbers them in order.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from orders.models import OrderStatus, ReturnKind, ReturnReason

SEED = 20251103
ORDERS_PER_STATUS = {
    OrderStatus.UNPAID: 6,
    OrderStatus.PAID: 8,
    OrderStatus.PACKED: 6,
    OrderStatus.SHIPPED: 12,
    OrderStatus.DELAYED: 5,
    OrderStatus.DELIVERED: 12,
    OrderStatus.RETURN_REQUESTED: 5,
    OrderStatus.REFUNDED: 5,
    OrderStatus.CANCELLED: 5,
}
CUSTOMERS = 25
# Every fifth customer (C0005, C0010, ...) is a VIP.
VIP_EVERY = 5
# Hours since the unpaid orders were placed: half of them are past the 12-hour reminder.
UNPAID_AGE_HOURS = (2, 14, 5, 20, 9, 30)
# Days since the delivered orders arrived: the first six are inside a 7-day return window.
DELIVERED_AGE_DAYS = (1, 2, 3, 4, 5, 6, 9, 12, 15, 20, 25, 30)

# sku, name, category, price in yuan, stock
CATALOGUE = [
    ("TS-001", "纯棉圆领T恤 白色", "上衣", 79, 320),
    ("TS-002", "纯棉圆领T恤 黑色", "上衣", 79, 0),
    ("TS-003", "冰丝短袖POLO衫", "上衣", 129, 85),
    ("SH-001", "法式碎花衬衫", "上衣", 159, 40),
    ("SW-001", "羊毛混纺针织开衫", "上衣", 239, 0),
    ("SW-002", "宽松圆领卫衣 灰色", "上衣", 169, 150),
    ("PT-001", "高腰直筒牛仔裤", "裤装", 199, 60),
    ("PT-002", "垂感阔腿西裤", "裤装", 189, 0),
    ("PT-003", "加绒运动束脚裤", "裤装", 139, 210),
    ("DJ-001", "90白鸭绒短款羽绒服", "羽绒服", 599, 25),
    ("DJ-002", "连帽长款羽绒服 黑色", "羽绒服", 899, 0),
    ("DJ-003", "轻薄立领羽绒内胆", "羽绒服", 329, 70),
    ("SO-001", "小白鞋 经典款", "鞋", 259, 95),
    ("SO-002", "加绒雪地靴", "鞋", 299, 0),
    ("SO-003", "软底健步鞋", "鞋", 219, 48),
    ("AC-001", "羊绒围巾 驼色", "配饰", 199, 33),
    ("AC-002", "针织毛线帽", "配饰", 59, 400),
    ("AC-003", "真皮腰带", "配饰", 129, 0),
    ("HM-001", "纯棉四件套 1.8米", "家居", 399, 18),
    ("HM-002", "珊瑚绒睡衣套装", "家居", 189, 120),
]

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"
_GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "洋",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
    "建华",
    "晓东",
    "雨桐",
]
_CITIES = [
    ("上海市", "浦东新区", "张杨路"),
    ("北京市", "朝阳区", "建国路"),
    ("广东省广州市", "天河区", "体育西路"),
    ("浙江省杭州市", "西湖区", "文三路"),
    ("四川省成都市", "武侯区", "人民南路"),
    ("湖北省武汉市", "洪山区", "珞喻路"),
    ("江苏省南京市", "鼓楼区", "中山北路"),
    ("新疆维吾尔自治区乌鲁木齐市", "天山区", "解放北路"),
    ("西藏自治区拉萨市", "城关区", "北京中路"),
    ("陕西省西安市", "雁塔区", "小寨东路"),
]
COURIERS = [("中通快递", "ZT"), ("顺丰速运", "SF"), ("EMS", "EM")]
WAREHOUSE = "浙江省杭州市"
_HUBS = ["杭州转运中心", "上海转运中心", "广州转运中心", "武汉转运中心", "成都转运中心"]
_CITY = re.compile(r"(?:.+?(?:省|自治区))?(.+?市)")
PICKED_UP = "快递员已揽收"
SIGNED = "已签收，签收人：本人"


@dataclass(frozen=True)
class DemoCustomer:
    id: str
    name: str
    phone: str
    address: str
    vip: bool


@dataclass(frozen=True)
class DemoReturn:
    kind: ReturnKind
    reason: ReturnReason
    requested_at: datetime
    refunded_at: datetime | None


@dataclass(frozen=True)
class DemoOrder:
    id: str
    customer_id: str
    status: OrderStatus
    created_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    lines: list[tuple[str, int]]
    courier: str
    tracking_no: str
    tracking: list[tuple[datetime, str, str]]
    after_sale: DemoReturn | None
    cancelled_at: datetime | None


def customers(rng: random.Random) -> list[DemoCustomer]:
    result = []
    for number in range(1, CUSTOMERS + 1):
        region, district, road = rng.choice(_CITIES)
        result.append(
            DemoCustomer(
                id=f"C{number:04d}",
                name=rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                phone=f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
                address=f"{region}{district}{road}{rng.randrange(1, 999)}号{rng.randrange(1, 30)}栋{rng.randrange(101, 2800)}室",
                vip=number % VIP_EVERY == 0,
            )
        )
    return result


def orders(rng: random.Random, people: list[DemoCustomer], now: datetime) -> list[DemoOrder]:
    """Orders with histories that fit their state, timed relative to ``now``."""
    result = []
    sequence = 0
    for status, count in ORDERS_PER_STATUS.items():
        for index in range(count):
            sequence += 1
            order_id = f"{SEED}{sequence:05d}"
            result.append(_order(rng, status, index, order_id, rng.choice(people), now))
    return result


def city_of(address: str) -> str:
    """Where a parcel to this address is delivered: 上海市, 广州市, 乌鲁木齐市."""
    match = _CITY.match(address)
    return match.group(1) if match else address[:6]


def tracking_number(order_id: str) -> tuple[str, str]:
    """The courier and tracking number of an order, the same every time it is shipped."""
    rng = random.Random(order_id)
    courier, code = rng.choice(COURIERS)
    return courier, f"{code}{rng.randrange(10**12):012d}"


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _order(
    rng: random.Random,
    status: OrderStatus,
    index: int,
    order_id: str,
    buyer: DemoCustomer,
    now: datetime,
) -> DemoOrder:
    """Each state's timeline is built backwards from its last step, so it is in the past."""
    paid = shipped = delivered = cancelled = None
    after_sale = None
    if status is OrderStatus.UNPAID:
        created = now - _hours(UNPAID_AGE_HOURS[index])
    elif status is OrderStatus.CANCELLED:
        cancelled = now - _hours(rng.uniform(12, 96))
        created = cancelled - _hours(rng.uniform(1, 20))
        # Half were paid and refunded on cancellation, half never paid.
        paid = created + timedelta(minutes=rng.randrange(2, 40)) if index % 2 else None
    elif status in (OrderStatus.PAID, OrderStatus.PACKED):
        paid = now - _hours(
            rng.uniform(1, 20) if status is OrderStatus.PAID else rng.uniform(20, 40)
        )
        created = paid - timedelta(minutes=rng.randrange(2, 40))
    else:
        if status is OrderStatus.SHIPPED:
            shipped = now - _hours(rng.uniform(20, 60))
        elif status is OrderStatus.DELAYED:
            # The last scan is days old: the parcel is stuck at a hub.
            shipped = now - _hours(rng.uniform(4.5, 7) * 24)
        else:
            if status is OrderStatus.DELIVERED:
                delivered = now - timedelta(days=DELIVERED_AGE_DAYS[index], hours=rng.uniform(0, 8))
            elif status is OrderStatus.RETURN_REQUESTED:
                delivered = now - _hours(rng.uniform(2, 5) * 24)
            else:
                delivered = now - _hours(rng.uniform(12, 25) * 24)
            shipped = delivered - _hours(rng.uniform(40, 72))
        paid = shipped - _hours(rng.uniform(4, 20))
        created = paid - timedelta(minutes=rng.randrange(2, 40))
    if delivered is not None and status is not OrderStatus.DELIVERED:
        after_sale = _after_sale(rng, status, delivered, now)
    skus = rng.sample([c[0] for c in CATALOGUE], rng.choice([1, 1, 1, 2, 3]))
    lines = [(sku, rng.choice([1, 1, 2])) for sku in skus]
    courier = tracking_no = ""
    tracking: list[tuple[datetime, str, str]] = []
    if shipped is not None:
        courier, tracking_no = tracking_number(order_id)
        tracking = _tracking(rng, status, shipped, delivered, city_of(buyer.address), now)
    return DemoOrder(
        id=order_id,
        customer_id=buyer.id,
        status=status,
        created_at=created.replace(microsecond=0),
        paid_at=paid.replace(microsecond=0) if paid else None,
        shipped_at=shipped.replace(microsecond=0) if shipped else None,
        delivered_at=delivered.replace(microsecond=0) if delivered else None,
        lines=lines,
        courier=courier,
        tracking_no=tracking_no,
        tracking=tracking,
        after_sale=after_sale,
        cancelled_at=cancelled.replace(microsecond=0) if cancelled else None,
    )


def _after_sale(
    rng: random.Random, status: OrderStatus, delivered: datetime, now: datetime
) -> DemoReturn:
    refunded = status is OrderStatus.REFUNDED
    # A refunded order was returned or refunded, never exchanged.
    kind = rng.choice([ReturnKind.RETURN, ReturnKind.REFUND] if refunded else list(ReturnKind))
    reason = rng.choice(list(ReturnReason))
    # Asked for within the return window, and in the past.
    requested = delivered + _hours(
        rng.uniform(0.1, 0.8) * min(5 * 24, (now - delivered) / _hours(1))
    )
    refunded_at = requested + _hours(rng.uniform(48, 96)) if refunded else None
    return DemoReturn(
        kind=kind,
        reason=reason,
        requested_at=requested.replace(microsecond=0),
        refunded_at=refunded_at.replace(microsecond=0) if refunded_at else None,
    )


def _tracking(
    rng: random.Random,
    status: OrderStatus,
    shipped: datetime,
    delivered: datetime | None,
    city: str,
    now: datetime,
) -> list[tuple[datetime, str, str]]:
    hub = rng.choice(_HUBS)
    events = [
        (shipped, WAREHOUSE, PICKED_UP),
        (shipped + _hours(6), hub, f"已到达{hub}"),
        (shipped + _hours(14), hub, f"已从{hub}发出，发往{city}"),
    ]
    if status is OrderStatus.DELAYED:
        return events
    arrive = shipped + _hours(rng.uniform(26, 36))
    end = delivered or now
    if arrive < end:
        events.append((arrive, f"{city}分拨中心", f"已到达{city}分拨中心"))
    if arrive + _hours(4) < end:
        events.append((arrive + _hours(4), city, "快递员正在派送，请保持电话畅通"))
    if delivered is not None:
        events.append((delivered, city, SIGNED))
    return [(ts.replace(microsecond=0), where, what) for ts, where, what in events]
