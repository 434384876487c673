import pytest

from orders import demo_data
from orders.catalogue import alternative, match_product
from orders.models import Product

PRODUCTS = [
    Product(sku, name, cat, yuan * 100, stock)
    for sku, name, cat, yuan, stock in demo_data.CATALOGUE
]


@pytest.mark.parametrize(
    ("text", "mentions", "sku"),
    [
        ("黑色T恤有货吗", ["T恤"], "TS-002"),
        ("白色T恤还有吗", ["T恤"], "TS-001"),
        ("黑色长款羽绒服什么时候补货", ["长款羽绒服"], "DJ-002"),
        ("雪地靴断货了？", ["雪地靴"], "SO-002"),
        ("小白鞋有货没", [], "SO-001"),
    ],
)
def test_the_named_product_is_found(text, mentions, sku):
    product = match_product(text, mentions, PRODUCTS)
    assert product is not None and product.sku == sku


def test_no_product_named_is_none():
    assert match_product("有货吗", [], PRODUCTS) is None


def test_the_alternative_is_in_stock_and_of_the_same_category():
    sold_out = next(p for p in PRODUCTS if p.sku == "DJ-002")
    similar = alternative(sold_out, PRODUCTS)
    assert similar is not None and similar.category == "羽绒服" and similar.stock > 0
