"""A web shop: a catalogue to search, product details, a cart with coupons, and checkout.

The shop is stateful (cart, coupon, stock, orders): every run gets a fresh ``Shop``, and the
checkers of the buying tasks look at what is in its cart and orders, not only at the answer.
"""

from __future__ import annotations

from typing import Any

from codeact.eval.builtin._common import Domain, calculate
from codeact.eval.checks import number, text
from codeact.eval.oracle import Calls
from codeact.tools import Tool, ToolError

# id, name, category, price (EUR), rating, stock, weight (kg), brand
_CATALOGUE = [
    ("HP-100", "Aria Wireless Headphones", "headphones", 89.00, 4.3, 12, 0.25, "Sonora"),
    ("HP-110", "Aria Pro ANC Headphones", "headphones", 149.00, 4.6, 5, 0.28, "Sonora"),
    ("HP-200", "Bassline Studio Headphones", "headphones", 69.50, 3.8, 20, 0.32, "Kord"),
    ("HP-210", "Bassline Mini Earbuds", "headphones", 39.90, 4.1, 0, 0.05, "Kord"),
    ("HP-300", "Quiet Hours Sleep Buds", "headphones", 59.00, 4.4, 8, 0.04, "Lull"),
    ("KB-100", "Typewise Mechanical Keyboard", "keyboards", 119.00, 4.5, 7, 0.95, "Typewise"),
    ("KB-110", "Typewise Compact 60%", "keyboards", 84.00, 4.2, 15, 0.62, "Typewise"),
    ("KB-200", "Officeline Slim Keyboard", "keyboards", 29.99, 3.9, 40, 0.45, "Officeline"),
    ("KB-210", "Officeline Ergo Split", "keyboards", 74.50, 4.4, 6, 0.88, "Officeline"),
    ("LT-100", "Nimbus 13 Ultrabook", "laptops", 949.00, 4.4, 4, 1.2, "Nimbus"),
    ("LT-110", "Nimbus 15 Pro", "laptops", 1399.00, 4.7, 2, 1.8, "Nimbus"),
    ("LT-200", "Vertex Air 14", "laptops", 879.00, 4.6, 0, 1.3, "Vertex"),
    ("LT-210", "Vertex Workstation 16", "laptops", 1899.00, 4.8, 1, 2.4, "Vertex"),
    ("LT-300", "Budgetbook 14", "laptops", 429.00, 3.6, 18, 1.6, "Pennywise"),
    ("MN-100", "Clearview 24 FHD", "monitors", 139.00, 4.1, 11, 3.9, "Clearview"),
    ("MN-110", "Clearview 27 QHD", "monitors", 279.00, 4.5, 9, 5.6, "Clearview"),
    ("MN-200", "Panorama 34 Ultrawide", "monitors", 449.00, 4.3, 3, 8.1, "Panorama"),
    ("MS-100", "Glide Wireless Mouse", "mice", 24.99, 4.0, 50, 0.09, "Glide"),
    ("MS-110", "Glide Pro Mouse", "mice", 59.00, 4.6, 14, 0.11, "Glide"),
    ("MS-200", "Vertical Comfort Mouse", "mice", 44.90, 4.3, 9, 0.13, "Officeline"),
    ("CB-100", "USB-C Cable 1 m", "cables", 9.99, 4.2, 200, 0.04, "Linkit"),
    ("CB-110", "USB-C Cable 2 m", "cables", 12.99, 4.1, 150, 0.06, "Linkit"),
    ("CB-200", "HDMI 2.1 Cable 2 m", "cables", 17.50, 4.4, 80, 0.12, "Linkit"),
]
_FIELDS = ("id", "name", "category", "price", "rating", "stock", "weight_kg", "brand")
COUPONS = {
    "SAVE10": "10% off the whole order",
    "FLAT25": "25.00 EUR off an order of at least 150.00 EUR",
    "DESK15": "15% off keyboards and mice",
}


class Shop:
    """One shopper's session: the catalogue with its stock, a cart, a coupon, past orders."""

    def __init__(self) -> None:
        self.products = {row[0]: dict(zip(_FIELDS, row, strict=True)) for row in _CATALOGUE}
        self.cart: dict[str, int] = {}
        self.coupon: str | None = None
        self.orders: list[dict[str, Any]] = []

    def tools(self) -> list[Tool]:
        methods = [
            self.search_products,
            self.get_product,
            self.add_to_cart,
            self.remove_from_cart,
            self.view_cart,
            self.apply_coupon,
            self.checkout,
        ]
        return [Tool(m) for m in methods]

    def _product(self, product_id: str) -> dict[str, Any]:
        product = self.products.get(product_id.strip().upper())
        if product is None:
            raise ToolError(f"no product {product_id!r}; ids look like 'KB-100' (search first)")
        return product

    def search_products(self, query: str = "", category: str = "") -> list[dict]:
        """Products whose name contains every word of ``query``, optionally in one category.

        Returns summaries {"id", "name", "category", "price", "rating"} (price in EUR); stock,
        weight and brand are in ``get_product``. Categories: headphones, keyboards, laptops,
        monitors, mice, cables.

        Args:
            query: Words to look for in the name; "" matches every product.
            category: One category, or "" for all.
        """
        words = query.lower().split()
        category = category.strip().lower()
        return [
            {k: p[k] for k in ("id", "name", "category", "price", "rating")}
            for p in self.products.values()
            if all(w in p["name"].lower() for w in words)
            and (not category or p["category"] == category)
        ]

    def get_product(self, product_id: str) -> dict:
        """Everything about one product: id, name, category, price, rating, stock, weight_kg, brand.

        Args:
            product_id: The product's id, e.g. "KB-100".
        """
        return dict(self._product(product_id))

    def add_to_cart(self, product_id: str, quantity: int = 1) -> dict:
        """Put ``quantity`` units of a product in the cart; returns the cart (see ``view_cart``).

        Args:
            product_id: The product's id, e.g. "KB-100".
            quantity: How many units to add (at least 1).
        """
        product = self._product(product_id)
        if quantity < 1:
            raise ToolError("quantity must be at least 1")
        wanted = self.cart.get(product["id"], 0) + quantity
        if wanted > product["stock"]:
            raise ToolError(f"only {product['stock']} of {product['id']} in stock")
        self.cart[product["id"]] = wanted
        return self.view_cart()

    def remove_from_cart(self, product_id: str) -> dict:
        """Take a product out of the cart entirely; returns the cart.

        Args:
            product_id: The product's id.
        """
        product = self._product(product_id)
        if product["id"] not in self.cart:
            raise ToolError(f"{product['id']} is not in the cart")
        del self.cart[product["id"]]
        return self.view_cart()

    def view_cart(self) -> dict:
        """The cart: {"items": [{"id", "name", "quantity", "unit_price", "line_total"}],
        "subtotal", "coupon", "discount", "total"}, amounts in EUR."""
        lines = [
            {
                "id": pid,
                "name": self.products[pid]["name"],
                "quantity": qty,
                "unit_price": self.products[pid]["price"],
                "line_total": round(qty * self.products[pid]["price"], 2),
            }
            for pid, qty in self.cart.items()
        ]
        subtotal = round(sum(line["line_total"] for line in lines), 2)
        discount = self._discount(lines, subtotal)
        return {
            "items": lines,
            "subtotal": subtotal,
            "coupon": self.coupon,
            "discount": discount,
            "total": round(subtotal - discount, 2),
        }

    def _discount(self, lines: list[dict[str, Any]], subtotal: float) -> float:
        if self.coupon == "SAVE10":
            return round(subtotal * 0.10, 2)
        if self.coupon == "FLAT25":
            return 25.0 if subtotal >= 150 else 0.0
        if self.coupon == "DESK15":
            desk = sum(
                line["line_total"]
                for line in lines
                if self.products[line["id"]]["category"] in ("keyboards", "mice")
            )
            return round(desk * 0.15, 2)
        return 0.0

    def apply_coupon(self, code: str) -> dict:
        """Apply a coupon to the cart, replacing any coupon applied before; returns the cart.

        Args:
            code: The coupon code, e.g. "SAVE10".
        """
        code = code.strip().upper()
        if code not in COUPONS:
            raise ToolError(f"unknown coupon {code!r}")
        if code == "FLAT25" and self.view_cart()["subtotal"] < 150:
            raise ToolError("FLAT25 needs a subtotal of at least 150.00 EUR")
        self.coupon = code
        return self.view_cart()

    def checkout(self) -> dict:
        """Buy what is in the cart: returns the order {"order_id", "items", "total"}.

        The cart and the coupon are emptied; the stock goes down."""
        if not self.cart:
            raise ToolError("the cart is empty; add products first")
        cart = self.view_cart()
        for pid, qty in self.cart.items():
            self.products[pid]["stock"] -= qty
        order = {
            "order_id": f"ORD-{1001 + len(self.orders)}",
            "items": {line["id"]: line["quantity"] for line in cart["items"]},
            "total": cart["total"],
        }
        self.orders.append(order)
        self.cart, self.coupon = {}, None
        return order


shop = Domain("shop", lambda state: [*state.tools(), calculate], setup=Shop)
TASKS = shop.tasks


def _ordered(items: dict[str, int]) -> Any:
    return lambda s: [o["items"] for o in s.orders] == [items] and not s.cart


@shop.task(
    "How much does product KB-210 cost? Answer with the price in EUR.",
    number(74.5),
    code='final_answer(get_product("KB-210")["price"])',
    tags="lookup",
)
def price_lookup(calls: Calls) -> Any:
    return calls("get_product", product_id="KB-210")["price"]


@shop.task(
    "Of the headphones that cost less than 100 EUR, which has the best rating? "
    "Answer with its product id.",
    text("HP-300"),
    code="""
cheap = [p for p in search_products(category="headphones") if p["price"] < 100]
final_answer(max(cheap, key=lambda p: p["rating"])["id"])
""",
    tags="lookup",
)
def best_cheap_headphones(calls: Calls) -> Any:
    found = calls("search_products", category="headphones")
    return max((p for p in found if p["price"] < 100), key=lambda p: p["rating"])["id"]


@shop.task(
    "How many of the shop's headphone products are in stock? Answer with a number.",
    number(4, tolerance=0),
    code="""
found = search_products(category="headphones")
final_answer(sum(1 for p in found if get_product(p["id"])["stock"] > 0))
""",
    tags="loop",
)
def headphones_in_stock(calls: Calls) -> Any:
    found = calls("search_products", category="headphones")
    details = calls.batch(*[("get_product", {"product_id": p["id"]}) for p in found])
    return sum(1 for d in details if d["stock"] > 0)


@shop.task(
    "Put 2 units of MS-100 and 1 unit of KB-110 in the cart and apply the coupon SAVE10. "
    "What is the cart total now? Answer with the amount in EUR.",
    number(120.58).and_state(
        lambda s: s.cart == {"MS-100": 2, "KB-110": 1} and s.coupon == "SAVE10"
    ),
    code="""
add_to_cart("MS-100", 2)
add_to_cart("KB-110", 1)
final_answer(apply_coupon("SAVE10")["total"])
""",
    tags="chain",
)
def cart_with_coupon(calls: Calls) -> Any:
    calls("add_to_cart", product_id="MS-100", quantity=2)
    calls("add_to_cart", product_id="KB-110", quantity=1)
    return calls("apply_coupon", code="SAVE10")["total"]


@shop.task(
    "What is the average price of the keyboards in the shop? "
    "Answer with the amount in EUR, rounded to 2 decimals.",
    number(76.87),
    code="""
prices = [p["price"] for p in search_products(category="keyboards")]
final_answer(round(sum(prices) / len(prices), 2))
""",
    tags="lookup",
)
def average_keyboard_price(calls: Calls) -> Any:
    prices = [p["price"] for p in calls("search_products", category="keyboards")]
    return round(sum(prices) / len(prices), 2)


@shop.task(
    "Put 1 unit of MN-100 and 1 unit of CB-200 in the cart. Which of the coupons SAVE10, "
    "FLAT25 and DESK15 gives the lowest total? Leave that coupon applied and answer with its "
    "code.",
    text("FLAT25").and_state(
        lambda s: s.cart == {"MN-100": 1, "CB-200": 1} and s.coupon == "FLAT25"
    ),
    code="""
add_to_cart("MN-100", 1)
add_to_cart("CB-200", 1)
totals = {code: apply_coupon(code)["total"] for code in ["SAVE10", "FLAT25", "DESK15"]}
best = min(totals, key=totals.get)
apply_coupon(best)
print(totals)
final_answer(best)
""",
    tags="loop",
)
def best_coupon(calls: Calls) -> Any:
    calls("add_to_cart", product_id="MN-100", quantity=1)
    calls("add_to_cart", product_id="CB-200", quantity=1)
    totals = {code: calls("apply_coupon", code=code)["total"] for code in COUPONS}
    best = min(totals, key=totals.get)
    calls("apply_coupon", code=best)
    return best


@shop.task(
    "Buy (check out) one unit of the best-rated laptop that costs less than 1000 EUR and is in "
    "stock. Answer with the order's total in EUR.",
    number(949).and_state(_ordered({"LT-100": 1})),
    code="""
laptops = [p for p in search_products(category="laptops") if p["price"] < 1000]
available = [p for p in laptops if get_product(p["id"])["stock"] > 0]
best = max(available, key=lambda p: p["rating"])
add_to_cart(best["id"], 1)
final_answer(checkout()["total"])
""",
    tags="loop",
)
def buy_best_laptop(calls: Calls) -> Any:
    laptops = [p for p in calls("search_products", category="laptops") if p["price"] < 1000]
    details = calls.batch(*[("get_product", {"product_id": p["id"]}) for p in laptops])
    best = max((d for d in details if d["stock"] > 0), key=lambda d: d["rating"])
    calls("add_to_cart", product_id=best["id"], quantity=1)
    return calls("checkout")["total"]


@shop.task(
    "Which monitor has the most units in stock? Answer with its product id.",
    text("MN-100"),
    code="""
monitors = search_products(category="monitors")
final_answer(max(monitors, key=lambda p: get_product(p["id"])["stock"])["id"])
""",
    tags="loop",
)
def most_stocked_monitor(calls: Calls) -> Any:
    monitors = calls("search_products", category="monitors")
    details = calls.batch(*[("get_product", {"product_id": p["id"]}) for p in monitors])
    return max(details, key=lambda d: d["stock"])["id"]


@shop.task(
    "Put 1 unit of LT-300, 1 unit of MS-110 and 3 units of CB-100 in the cart. What does the "
    "cart weigh in kg? Answer with a number rounded to 2 decimals.",
    number(1.83).and_state(lambda s: s.cart == {"LT-300": 1, "MS-110": 1, "CB-100": 3}),
    code="""
for pid, qty in [("LT-300", 1), ("MS-110", 1), ("CB-100", 3)]:
    add_to_cart(pid, qty)
lines = view_cart()["items"]
weight = sum(get_product(line["id"])["weight_kg"] * line["quantity"] for line in lines)
final_answer(round(weight, 2))
""",
    tags="loop",
)
def cart_weight(calls: Calls) -> Any:
    wanted = {"LT-300": 1, "MS-110": 1, "CB-100": 3}
    for pid, qty in wanted.items():
        calls("add_to_cart", product_id=pid, quantity=qty)
    details = calls.batch(*[("get_product", {"product_id": pid}) for pid in wanted])
    return round(sum(d["weight_kg"] * wanted[d["id"]] for d in details), 2)


@shop.task(
    "What is the cheapest product made by the brand Officeline? Answer with the product's name.",
    text("Officeline Slim Keyboard"),
    code="""
details = [get_product(p["id"]) for p in search_products()]
officeline = [d for d in details if d["brand"] == "Officeline"]
final_answer(min(officeline, key=lambda d: d["price"])["name"])
""",
    tags="loop",
)
def cheapest_of_brand(calls: Calls) -> Any:
    everything = calls("search_products")
    details = calls.batch(*[("get_product", {"product_id": p["id"]}) for p in everything])
    return min((d for d in details if d["brand"] == "Officeline"), key=lambda d: d["price"])["name"]


@shop.task(
    "Order 3 units of the cheapest keyboard rated at least 4.0, then answer with the order's "
    "total in EUR.",
    number(223.5).and_state(_ordered({"KB-210": 3})),
    code="""
good = [p for p in search_products(category="keyboards") if p["rating"] >= 4.0]
cheapest = min(good, key=lambda p: p["price"])
add_to_cart(cheapest["id"], 3)
final_answer(checkout()["total"])
""",
    tags="chain",
)
def order_keyboards(calls: Calls) -> Any:
    good = [p for p in calls("search_products", category="keyboards") if p["rating"] >= 4.0]
    calls("add_to_cart", product_id=min(good, key=lambda p: p["price"])["id"], quantity=3)
    return calls("checkout")["total"]


@shop.task(
    "With the coupon SAVE10, how many units of CB-100 can I buy for at most 100 EUR? "
    "Answer with a number.",
    number(11, tolerance=0),
    code="""
price = get_product("CB-100")["price"]
n = 0
while round((n + 1) * price - round((n + 1) * price * 0.10, 2), 2) <= 100:
    n += 1
final_answer(n)
""",
    tags="loop",
)
def cables_on_budget(calls: Calls) -> Any:
    price = calls("get_product", product_id="CB-100")["price"]
    n = 0
    while round((n + 1) * price - round((n + 1) * price * 0.10, 2), 2) <= 100:
        n += 1
    return n
