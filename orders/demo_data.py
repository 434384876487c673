"""The demo shop: a catalogue, customers and 64 orders in every state, generated reproducibly."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from orders.models import OrderStatus

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
_COURIERS = [("中通快递", "ZT"), ("顺丰速运", "SF"), ("EMS", "EM")]
_HUBS = ["杭州转运中心", "上海转运中心", "广州转运中心", "武汉转运中心", "成都转运中心"]


@dataclass(frozen=True)
class DemoCustomer:
    id: str
    name: str
    phone: str
    address: str


@dataclass(frozen=True)
class DemoOrder:
    id: str
    customer_id: str
    status: OrderStatus
    created_at: datetime
    paid_at: datetime | None
    lines: list[tuple[str, int]]
    courier: str
    tracking_no: str
    tracking: list[tuple[datetime, str, str]]


def customers(rng: random.Random) -> list[DemoCustomer]:
    result = []
    for number in range(1, 26):
        province, district, road = rng.choice(_CITIES)
        result.append(
            DemoCustomer(
                id=f"C{number:04d}",
                name=rng.choice(_SURNAMES) + rng.choice(_GIVEN),
                phone=f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                address=f"{province}{district}{road}{rng.randrange(1, 999)}号{rng.randrange(1, 30)}栋{rng.randrange(101, 2800)}室",
            )
        )
    return result


def orders(rng: random.Random, people: list[DemoCustomer], now: datetime) -> list[DemoOrder]:
    """Orders with histories that fit their state, timed relative to ``now``.

    Ids are stable (2025110300001 ...) so that docs, tests and a person trying the demo can name them.
    """
    result = []
    sequence = 0
    for status, count in ORDERS_PER_STATUS.items():
        for _ in range(count):
            sequence += 1
            result.append(_order(rng, status, sequence, rng.choice(people), now))
    return result


def _order(
    rng: random.Random, status: OrderStatus, sequence: int, buyer: DemoCustomer, now: datetime
) -> DemoOrder:
    age_days = {
        OrderStatus.UNPAID: 0.6,
        OrderStatus.PAID: 0.5,
        OrderStatus.PACKED: 1,
        OrderStatus.SHIPPED: 2,
        OrderStatus.DELAYED: 6,
        OrderStatus.DELIVERED: 5,
        OrderStatus.RETURN_REQUESTED: 8,
        OrderStatus.REFUNDED: 15,
        OrderStatus.CANCELLED: 3,
    }[status]
    created = now - timedelta(days=age_days * rng.uniform(0.6, 1.4), minutes=rng.randrange(600))
    created = created.replace(microsecond=0)
    paid = (
        None
        if status in (OrderStatus.UNPAID,)
        else created + timedelta(minutes=rng.randrange(2, 40))
    )
    if status == OrderStatus.CANCELLED and rng.random() < 0.5:
        paid = None
    skus = rng.sample([c[0] for c in CATALOGUE], rng.choice([1, 1, 1, 2, 3]))
    lines = [(sku, rng.choice([1, 1, 2])) for sku in skus]
    courier = tracking_no = ""
    tracking: list[tuple[datetime, str, str]] = []
    if (
        status
        in (
            OrderStatus.SHIPPED,
            OrderStatus.DELAYED,
            OrderStatus.DELIVERED,
            OrderStatus.RETURN_REQUESTED,
            OrderStatus.REFUNDED,
        )
        and paid is not None
    ):
        courier, code = rng.choice(_COURIERS)
        tracking_no = f"{code}{rng.randrange(10**12):012d}"
        tracking = _tracking(rng, status, paid, buyer.address[:3], now)
    return DemoOrder(
        id=f"{SEED}{sequence:05d}",
        customer_id=buyer.id,
        status=status,
        created_at=created,
        paid_at=paid,
        lines=lines,
        courier=courier,
        tracking_no=tracking_no,
        tracking=tracking,
    )


def _tracking(
    rng: random.Random, status: OrderStatus, paid: datetime, city: str, now: datetime
) -> list[tuple[datetime, str, str]]:
    shipped = paid + timedelta(hours=rng.randrange(4, 30))
    hub = rng.choice(_HUBS)
    events = [
        (shipped, "浙江省杭州市", "快递员已揽收"),
        (shipped + timedelta(hours=6), hub, f"已到达{hub}"),
        (shipped + timedelta(hours=14), hub, f"已从{hub}发出，发往{city}"),
    ]
    if status == OrderStatus.DELAYED:
        # The last scan is days old: the parcel is stuck.
        return events
    arrive = shipped + timedelta(hours=rng.randrange(30, 60))
    if arrive < now:
        events.append((arrive, city, f"已到达{city}分拨中心，正在派送"))
    if status != OrderStatus.SHIPPED and arrive + timedelta(hours=5) < now:
        events.append((arrive + timedelta(hours=5), city, "已签收，签收人：本人"))
    return events
