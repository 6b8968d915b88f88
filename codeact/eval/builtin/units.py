"""Units and currencies: conversion chains, comparisons across units, fixed exchange rates."""

from __future__ import annotations

from typing import Any

from codeact.eval.builtin._common import Domain, calculate
from codeact.eval.checks import number, text
from codeact.eval.oracle import Calls
from codeact.tools import ToolError, tool

# Each unit's size in its dimension's base unit (metre, kilogram, litre, second, metre/second).
_UNITS: dict[str, tuple[str, float]] = {
    "mm": ("length", 0.001),
    "cm": ("length", 0.01),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "in": ("length", 0.0254),
    "ft": ("length", 0.3048),
    "yd": ("length", 0.9144),
    "mi": ("length", 1609.344),
    "g": ("mass", 0.001),
    "kg": ("mass", 1.0),
    "oz": ("mass", 0.028349523125),
    "lb": ("mass", 0.45359237),
    "ml": ("volume", 0.001),
    "l": ("volume", 1.0),
    "tsp": ("volume", 0.00492892159375),
    "tbsp": ("volume", 0.01478676478125),
    "cup": ("volume", 0.2365882365),
    "fl_oz": ("volume", 0.0295735295625),
    "gal": ("volume", 3.785411784),
    "s": ("time", 1.0),
    "min": ("time", 60.0),
    "h": ("time", 3600.0),
    "day": ("time", 86400.0),
    "m/s": ("speed", 1.0),
    "km/h": ("speed", 1 / 3.6),
    "mph": ("speed", 0.44704),
    "knot": ("speed", 1852 / 3600),
}
_TEMPERATURES = {"C", "F", "K"}
_ALIASES = {
    "mile": "mi",
    "miles": "mi",
    "inch": "in",
    "feet": "ft",
    "foot": "ft",
    "pound": "lb",
    "lbs": "lb",
    "ounce": "oz",
    "gallon": "gal",
    "liter": "l",
    "litre": "l",
    "hour": "h",
    "kph": "km/h",
    "celsius": "C",
    "fahrenheit": "F",
    "kelvin": "K",
}

#: Units of each currency that one euro buys (fixed for this suite).
PER_EURO = {"EUR": 1.0, "USD": 1.08, "GBP": 0.85, "JPY": 162.0, "CHF": 0.96, "SEK": 11.45}


def _unit(name: str) -> str:
    name = name.strip()
    name = _ALIASES.get(name.lower(), name)
    if name.upper() in _TEMPERATURES:
        return name.upper()
    if name.lower() in _UNITS:
        return name.lower()
    known = ", ".join([*_UNITS, *sorted(_TEMPERATURES)])
    raise ToolError(f"unknown unit {name!r}; known units: {known}")


def _celsius(value: float, unit: str) -> float:
    return {"C": value, "F": (value - 32) * 5 / 9, "K": value - 273.15}[unit]


@tool
def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert a quantity between units of length, mass, volume, time, speed or temperature.

    Units: mm cm m km in ft yd mi · g kg oz lb · ml l tsp tbsp cup fl_oz gal (US) · s min h day
    · m/s km/h mph knot · C F K. The result has 6 decimals.

    Args:
        value: The quantity, e.g. 26.2.
        from_unit: Its unit, e.g. "mi".
        to_unit: The unit wanted, e.g. "km".
    """
    source, target = _unit(from_unit), _unit(to_unit)
    if source in _TEMPERATURES or target in _TEMPERATURES:
        if not (source in _TEMPERATURES and target in _TEMPERATURES):
            raise ToolError(f"cannot convert {source} to {target}: one is a temperature")
        celsius = _celsius(value, source)
        result = {"C": celsius, "F": celsius * 9 / 5 + 32, "K": celsius + 273.15}[target]
        return round(result, 6)
    (dimension, size), (target_dimension, target_size) = _UNITS[source], _UNITS[target]
    if dimension != target_dimension:
        raise ToolError(f"cannot convert {source} ({dimension}) to {target} ({target_dimension})")
    return round(value * size / target_size, 6)


@tool
def exchange_rate(base: str, quote: str) -> float:
    """How many units of ``quote`` one unit of ``base`` buys (6 decimals), e.g. EUR→USD 1.08.

    Currencies: EUR, USD, GBP, JPY, CHF, SEK.

    Args:
        base: The currency you have, e.g. "USD".
        quote: The currency you want, e.g. "JPY".
    """
    codes = [base.strip().upper(), quote.strip().upper()]
    for code in codes:
        if code not in PER_EURO:
            raise ToolError(f"unknown currency {code!r}; known: {', '.join(PER_EURO)}")
    return round(PER_EURO[codes[1]] / PER_EURO[codes[0]], 6)


TOOLS = [convert, exchange_rate, calculate]
units = Domain("units", TOOLS)
TASKS = units.tasks


@units.task(
    "How many kilometres are 26.2 miles? Answer with a number rounded to 2 decimals.",
    number(42.16),
    code='final_answer(round(convert(26.2, "mi", "km"), 2))',
    tags="lookup",
)
def miles_to_km(calls: Calls) -> Any:
    return round(calls("convert", value=26.2, from_unit="mi", to_unit="km"), 2)


@units.task(
    "An oven is set to 392 °F. What is that in °C? Answer with a number.",
    number(200, tolerance=0.1),
    code='final_answer(convert(392, "F", "C"))',
    tags="lookup",
)
def oven_temperature(calls: Calls) -> Any:
    return calls("convert", value=392, from_unit="F", to_unit="C")


@units.task(
    "A jacket costs 149 USD. What is that in Japanese yen, rounded to the nearest yen? "
    "Answer with a number.",
    number(22350, tolerance=1),
    code='final_answer(round(149 * exchange_rate("USD", "JPY")))',
    tags="lookup",
)
def price_in_yen(calls: Calls) -> Any:
    return round(149 * calls("exchange_rate", base="USD", quote="JPY"))


@units.task(
    "A road trip needs 14 US gallons of fuel, which costs 1.89 EUR per litre. What does the "
    "fuel cost in GBP? Answer with a number rounded to 2 decimals.",
    number(85.14),
    code="""
litres = convert(14, "gal", "l")
euros = litres * 1.89
final_answer(round(euros * exchange_rate("EUR", "GBP"), 2))
""",
    tags="chain",
)
def fuel_cost(calls: Calls) -> Any:
    litres = calls("convert", value=14, from_unit="gal", to_unit="l")
    return round(litres * 1.89 * calls("exchange_rate", base="EUR", quote="GBP"), 2)


@units.task(
    "Which parcel is the heaviest: A weighs 3.4 lb, B 1.6 kg, C 52 oz and D 1450 g? "
    "Answer with the parcel's letter only.",
    text("B"),
    code="""
parcels = {"A": (3.4, "lb"), "B": (1.6, "kg"), "C": (52, "oz"), "D": (1450, "g")}
kilos = {name: convert(value, unit, "kg") for name, (value, unit) in parcels.items()}
print(kilos)
final_answer(max(kilos, key=kilos.get))
""",
    tags="loop",
)
def heaviest_parcel(calls: Calls) -> Any:
    parcels = {"A": (3.4, "lb"), "B": (1.6, "kg"), "C": (52, "oz"), "D": (1450, "g")}
    kilos = calls.batch(
        *[("convert", {"value": v, "from_unit": u, "to_unit": "kg"}) for v, u in parcels.values()]
    )
    return max(zip(parcels, kilos, strict=True), key=lambda pair: pair[1])[0]


_BASKET = {"USD": 25, "GBP": 18, "JPY": 3000, "CHF": 40}


@units.task(
    "I have 25 USD, 18 GBP, 3000 JPY and 40 CHF. How much is that in EUR altogether? "
    "Answer with a number rounded to 2 decimals.",
    number(104.51),
    code="""
money = {"USD": 25, "GBP": 18, "JPY": 3000, "CHF": 40}
total = sum(amount * exchange_rate(code, "EUR") for code, amount in money.items())
final_answer(round(total, 2))
""",
    tags="loop",
)
def basket_in_euros(calls: Calls) -> Any:
    rates = calls.batch(*[("exchange_rate", {"base": c, "quote": "EUR"}) for c in _BASKET])
    return round(sum(a * r for a, r in zip(_BASKET.values(), rates, strict=True)), 2)


@units.task(
    "A runner finishes a marathon (42.195 km) in 3 hours 30 minutes. What was the average pace "
    "in minutes per mile? Answer with a number rounded to 2 decimals.",
    number(8.01),
    code="""
miles = convert(42.195, "km", "mi")
minutes = convert(3.5, "h", "min")
final_answer(round(minutes / miles, 2))
""",
    tags="chain",
)
def marathon_pace(calls: Calls) -> Any:
    miles, minutes = calls.batch(
        ("convert", {"value": 42.195, "from_unit": "km", "to_unit": "mi"}),
        ("convert", {"value": 3.5, "from_unit": "h", "to_unit": "min"}),
    )
    return round(minutes / miles, 2)


_OFFERS = {
    "A": (4.99, "USD", 1, "lb"),
    "B": (9.50, "EUR", 1, "kg"),
    "C": (1400, "JPY", 500, "g"),
    "D": (7.20, "GBP", 1, "kg"),
}


@units.task(
    "Which offer is the cheapest per kilogram: A costs 4.99 USD per lb, B 9.50 EUR per kg, "
    "C 1400 JPY per 500 g, D 7.20 GBP per kg? Answer with the offer's letter only.",
    text("D"),
    code="""
offers = {"A": (4.99, "USD", 1, "lb"), "B": (9.50, "EUR", 1, "kg"),
          "C": (1400, "JPY", 500, "g"), "D": (7.20, "GBP", 1, "kg")}
per_kg = {}
for name, (price, currency, amount, unit) in offers.items():
    euros = price * exchange_rate(currency, "EUR")
    per_kg[name] = euros / convert(amount, unit, "kg")
print(per_kg)
final_answer(min(per_kg, key=per_kg.get))
""",
    tags="loop",
)
def cheapest_per_kg(calls: Calls) -> Any:
    rates = calls.batch(
        *[("exchange_rate", {"base": o[1], "quote": "EUR"}) for o in _OFFERS.values()]
    )
    kilos = calls.batch(
        *[
            ("convert", {"value": o[2], "from_unit": o[3], "to_unit": "kg"})
            for o in _OFFERS.values()
        ]
    )
    per_kg = {
        name: offer[0] * rate / kg
        for (name, offer), rate, kg in zip(_OFFERS.items(), rates, kilos, strict=True)
    }
    return min(per_kg, key=per_kg.get)


_HIGHS_F = [68, 75, 81, 79, 72]


@units.task(
    "This week's daily highs were 68, 75, 81, 79 and 72 °F. What was the average high in °C? "
    "Answer with a number rounded to 1 decimal.",
    number(23.9, tolerance=0.05),
    code="""
highs = [convert(t, "F", "C") for t in [68, 75, 81, 79, 72]]
final_answer(round(sum(highs) / len(highs), 1))
""",
    tags="loop",
)
def average_high(calls: Calls) -> Any:
    highs = calls.batch(
        *[("convert", {"value": t, "from_unit": "F", "to_unit": "C"}) for t in _HIGHS_F]
    )
    return round(sum(highs) / len(highs), 1)


@units.task(
    "What is 130 km/h in miles per hour? Answer with a number rounded to 1 decimal.",
    number(80.8, tolerance=0.05),
    code='final_answer(round(convert(130, "km/h", "mph"), 1))',
    tags="lookup",
)
def speed_limit(calls: Calls) -> Any:
    return round(calls("convert", value=130, from_unit="km/h", to_unit="mph"), 1)


@units.task(
    "I change 500 GBP into Swedish kronor (SEK), then all the kronor into Swiss francs (CHF). "
    "How many CHF do I get? Answer with a number rounded to 2 decimals.",
    number(564.71, tolerance=0.05),
    code="""
sek = 500 * exchange_rate("GBP", "SEK")
final_answer(round(sek * exchange_rate("SEK", "CHF"), 2))
""",
    tags="chain",
)
def two_exchanges(calls: Calls) -> Any:
    sek = 500 * calls("exchange_rate", base="GBP", quote="SEK")
    return round(sek * calls("exchange_rate", base="SEK", quote="CHF"), 2)


@units.task(
    "Three runners: A ran 5 km in 24 min 30 s, B ran 3.1 miles in 23 min 50 s, C ran 5000 m "
    "in 0.4 hours. Who had the fastest average speed? Answer with the runner's letter only.",
    text("B"),
    code="""
runs = {"A": (5, "km", 24.5), "B": (3.1, "mi", 23 + 50 / 60),
        "C": (5000, "m", convert(0.4, "h", "min"))}
speeds = {name: convert(d, unit, "km") / minutes for name, (d, unit, minutes) in runs.items()}
print(speeds)
final_answer(max(speeds, key=speeds.get))
""",
    tags="loop",
)
def fastest_runner(calls: Calls) -> Any:
    km_b, km_c, minutes_c = calls.batch(
        ("convert", {"value": 3.1, "from_unit": "mi", "to_unit": "km"}),
        ("convert", {"value": 5000, "from_unit": "m", "to_unit": "km"}),
        ("convert", {"value": 0.4, "from_unit": "h", "to_unit": "min"}),
    )
    speeds = {"A": 5 / 24.5, "B": km_b / (23 + 50 / 60), "C": km_c / minutes_c}
    return max(speeds, key=speeds.get)
