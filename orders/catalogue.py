"""Finding the product a customer names, and an in-stock alternative of the same category."""

from __future__ import annotations

from orders.models import Product


def match_product(text: str, mentions: list[str], products: list[Product]) -> Product | None:
    """The catalogue item the customer means: named by a recognised product word, narrowed by
    the other words of its name that the message also contains (黑色, 长款, ...)."""
    lowered = text.lower()
    names = [m.lower() for m in mentions if m] or [
        word for p in products for word in _words(p) if word in lowered
    ]
    best: tuple[int, Product] | None = None
    for product in products:
        name = product.name.lower()
        if not any(mention in name for mention in names):
            continue
        score = sum(len(word) for word in _words(product) if word in lowered)
        if best is None or score > best[0]:
            best = (score, product)
    return best[1] if best else None


def alternative(product: Product, products: list[Product]) -> Product | None:
    """An in-stock item of the same category, the best stocked first."""
    same = [p for p in products if p.category == product.category and p.sku != product.sku]
    in_stock = sorted((p for p in same if p.stock > 0), key=lambda p: -p.stock)
    return in_stock[0] if in_stock else None


def _words(product: Product) -> list[str]:
    """The parts of a product's name ("纯棉圆领T恤 黑色" -> 纯棉圆领t恤, 黑色) and its core noun."""
    parts = product.name.lower().split()
    core = parts[0]
    # The last two or three characters name the kind of item: T恤, 羽绒服, 雪地靴...
    return [*parts, core[-2:], core[-3:]]
