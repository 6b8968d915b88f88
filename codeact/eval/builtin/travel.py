"""Travel: flights, hotels and forecasts between European cities, with prices and constraints.

All data is made up for this suite and fixed, so every answer is known.
"""

from __future__ import annotations

from typing import Any

from codeact.eval.builtin._common import Domain, calculate
from codeact.eval.checks import items, number, text
from codeact.eval.oracle import Calls
from codeact.tools import ToolError, tool

CITIES = {
    "BER": "Berlin",
    "LIS": "Lisbon",
    "MAD": "Madrid",
    "FCO": "Rome",
    "ATH": "Athens",
    "CPH": "Copenhagen",
    "VIE": "Vienna",
}

# flight, origin, destination, date, departs, arrives, stops, price (EUR)
_FLIGHTS = [
    ("TP531", "BER", "LIS", "2025-06-03", "06:05", "08:40", 0, 189),
    ("FR7711", "BER", "LIS", "2025-06-03", "09:20", "11:55", 0, 142),
    ("LH1166", "BER", "LIS", "2025-06-03", "11:10", "16:30", 1, 131),
    ("TP537", "BER", "LIS", "2025-06-03", "17:45", "20:20", 0, 215),
    ("TP531", "BER", "LIS", "2025-06-05", "06:05", "08:40", 0, 205),
    ("FR7711", "BER", "LIS", "2025-06-05", "09:20", "11:55", 0, 158),
    ("U24301", "BER", "LIS", "2025-06-05", "14:30", "17:05", 0, 164),
    ("IB3675", "BER", "MAD", "2025-06-02", "07:00", "10:20", 0, 181),
    ("FR4112", "BER", "MAD", "2025-06-02", "10:45", "14:05", 0, 109),
    ("LH1810", "BER", "MAD", "2025-06-02", "12:30", "17:45", 1, 95),
    ("IB3675", "BER", "MAD", "2025-06-03", "07:00", "10:20", 0, 174),
    ("FR4112", "BER", "MAD", "2025-06-03", "10:45", "14:05", 0, 119),
    ("LH1810", "BER", "MAD", "2025-06-03", "12:30", "17:45", 1, 98),
    ("AF1135", "BER", "MAD", "2025-06-03", "13:05", "18:50", 1, 112),
    ("UX1508", "BER", "MAD", "2025-06-03", "18:15", "21:35", 0, 151),
    ("IB3675", "BER", "MAD", "2025-06-05", "07:00", "10:20", 0, 166),
    ("FR4112", "BER", "MAD", "2025-06-05", "10:45", "14:05", 0, 127),
    ("TP1015", "MAD", "LIS", "2025-06-04", "08:10", "08:25", 0, 88),
    ("UX7023", "MAD", "LIS", "2025-06-04", "10:00", "15:10", 1, 51),
    ("IB3102", "MAD", "LIS", "2025-06-04", "13:40", "13:55", 0, 72),
    ("FR5520", "MAD", "LIS", "2025-06-04", "19:30", "19:45", 0, 64),
    ("AZ433", "BER", "FCO", "2025-06-04", "06:50", "09:00", 0, 156),
    ("FR9350", "BER", "FCO", "2025-06-04", "08:30", "10:40", 0, 117),
    ("LH1832", "BER", "FCO", "2025-06-04", "10:15", "14:25", 1, 102),
    ("U25121", "BER", "FCO", "2025-06-04", "15:20", "17:30", 0, 124),
    ("AZ433", "BER", "FCO", "2025-06-05", "06:50", "09:00", 0, 171),
    ("FR9350", "BER", "FCO", "2025-06-05", "08:30", "10:40", 0, 133),
    ("U25121", "BER", "FCO", "2025-06-05", "15:20", "17:30", 0, 128),
    ("A3881", "BER", "ATH", "2025-06-02", "05:55", "09:35", 0, 228),
    ("LH1278", "BER", "ATH", "2025-06-02", "09:05", "15:40", 1, 165),
    ("FR2244", "BER", "ATH", "2025-06-02", "11:20", "15:00", 0, 176),
    ("A3882", "ATH", "BER", "2025-06-06", "10:30", "12:20", 0, 214),
    ("LH1279", "ATH", "BER", "2025-06-06", "13:15", "18:05", 1, 181),
    ("FR2245", "ATH", "BER", "2025-06-06", "16:00", "17:50", 0, 169),
    ("SK1676", "BER", "CPH", "2025-06-02", "07:30", "08:35", 0, 119),
    ("FR1930", "BER", "CPH", "2025-06-02", "18:40", "19:45", 0, 97),
    ("SK1676", "BER", "CPH", "2025-06-03", "07:30", "08:35", 0, 104),
    ("FR1930", "BER", "CPH", "2025-06-03", "18:40", "19:45", 0, 89),
    ("SK1676", "BER", "CPH", "2025-06-04", "07:30", "08:35", 0, 111),
    ("DY1101", "BER", "CPH", "2025-06-04", "12:00", "13:05", 0, 86),
    ("FR1930", "BER", "CPH", "2025-06-04", "18:40", "19:45", 0, 93),
    ("SK1676", "BER", "CPH", "2025-06-05", "07:30", "08:35", 0, 98),
    ("FR1930", "BER", "CPH", "2025-06-05", "18:40", "19:45", 0, 82),
    ("SK1676", "BER", "CPH", "2025-06-06", "07:30", "08:35", 0, 126),
    ("FR1930", "BER", "CPH", "2025-06-06", "18:40", "19:45", 0, 99),
    ("OS232", "BER", "VIE", "2025-06-03", "06:40", "07:55", 0, 148),
    ("FR6380", "BER", "VIE", "2025-06-03", "09:50", "11:05", 0, 96),
    ("OS236", "BER", "VIE", "2025-06-03", "10:50", "12:05", 0, 88),
    ("EW8110", "BER", "VIE", "2025-06-03", "12:10", "13:25", 0, 79),
]

# name, city, stars, price per night (EUR), amenities, distance from the centre (km)
_HOTELS = [
    ("Casa do Rio", "LIS", 3, 92, ["wifi"], 1.2),
    ("Hotel Alfama Azul", "LIS", 4, 138, ["wifi", "pool"], 0.8),
    ("Miradouro Palace", "LIS", 5, 245, ["wifi", "pool", "spa", "gym"], 1.5),
    ("Tejo Suites", "LIS", 4, 121, ["wifi", "pool", "gym"], 3.4),
    ("Pensao Estrela", "LIS", 2, 58, ["wifi"], 0.6),
    ("Lisboa Central", "LIS", 3, 99, ["wifi", "gym"], 0.3),
    ("Hostal Sol", "MAD", 2, 55, ["wifi"], 0.4),
    ("Gran Via Rooms", "MAD", 3, 96, ["wifi"], 0.2),
    ("Hotel Retiro", "MAD", 4, 142, ["wifi", "gym"], 1.8),
    ("Castellana Tower", "MAD", 5, 260, ["wifi", "pool", "spa", "gym"], 3.9),
    ("Lavapies Loft", "MAD", 3, 84, ["wifi", "kitchen"], 1.1),
    ("Albergo Trevi", "FCO", 3, 118, ["wifi"], 0.5),
    ("Hotel Aventino", "FCO", 4, 164, ["wifi", "gym"], 1.9),
    ("Roma Termini Inn", "FCO", 2, 68, ["wifi"], 1.4),
    ("Villa Borghese Suites", "FCO", 5, 310, ["wifi", "pool", "spa"], 2.2),
    ("Trastevere House", "FCO", 3, 101, ["wifi", "kitchen"], 1.6),
    ("Plaka Rooms", "ATH", 3, 79, ["wifi"], 0.5),
    ("Acropolis View", "ATH", 4, 133, ["wifi", "pool"], 0.9),
    ("Nyhavn Hotel", "CPH", 4, 189, ["wifi"], 0.4),
    ("Vesterbro Inn", "CPH", 3, 128, ["wifi"], 1.3),
    ("Hotel Stephansplatz", "VIE", 4, 175, ["wifi", "gym"], 0.2),
    ("Donau Hof", "VIE", 3, 109, ["wifi"], 1.7),
    ("Ringstrasse Grand", "VIE", 5, 290, ["wifi", "spa", "gym"], 0.9),
    ("Belvedere Garten", "VIE", 4, 149, ["wifi"], 1.3),
    ("Prater Budget", "VIE", 2, 62, [], 3.1),
    ("Naschmarkt Suites", "VIE", 5, 268, ["spa", "gym"], 1.1),
    ("Palais Hofburg", "VIE", 5, 255, ["wifi", "spa"], 2.6),
]

# city, date, condition, high (°C)
_WEATHER = [
    ("ATH", "2025-06-02", "sunny", 31),
    ("ATH", "2025-06-03", "sunny", 29),
    ("ATH", "2025-06-04", "cloudy", 27),
    ("ATH", "2025-06-05", "sunny", 33),
    ("ATH", "2025-06-06", "rain", 24),
    ("LIS", "2025-06-02", "cloudy", 22),
    ("LIS", "2025-06-03", "sunny", 26),
    ("LIS", "2025-06-04", "sunny", 28),
    ("LIS", "2025-06-05", "rain", 19),
    ("LIS", "2025-06-06", "sunny", 25),
]

DATES = ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-06"]


def _city(code: str) -> str:
    code = code.strip().upper()
    if code not in CITIES:
        known = ", ".join(f"{c} ({n})" for c, n in CITIES.items())
        raise ToolError(f"unknown city code {code!r}; known: {known}")
    return code


def _date(date: str) -> str:
    if date not in DATES:
        raise ToolError(f"no data for {date!r}; dates are 2025-06-02 to 2025-06-06 (YYYY-MM-DD)")
    return date


@tool
def search_flights(origin: str, destination: str, date: str) -> list[dict]:
    """Flights between two cities on a date, by departure time.

    Each flight is {"flight", "origin", "destination", "date", "departs", "arrives", "stops",
    "price"}; times are local "HH:MM", "stops" 0 means nonstop, "price" is in EUR.

    Args:
        origin: City code of departure, e.g. "BER".
        destination: City code of arrival, e.g. "LIS".
        date: Day of departure, "YYYY-MM-DD".
    """
    origin, destination, date = _city(origin), _city(destination), _date(date)
    keys = ("flight", "origin", "destination", "date", "departs", "arrives", "stops", "price")
    found = [
        dict(zip(keys, f, strict=True)) for f in _FLIGHTS if f[1:4] == (origin, destination, date)
    ]
    return sorted(found, key=lambda f: f["departs"])


@tool
def search_hotels(city: str, min_stars: int = 1) -> list[dict]:
    """Hotels in a city with at least ``min_stars`` stars.

    Each hotel is {"hotel", "city", "stars", "price_per_night", "amenities", "distance_km"}; the
    price is in EUR, the distance is from the city centre.

    Args:
        city: City code, e.g. "LIS".
        min_stars: The fewest stars a hotel may have (1 to 5).
    """
    city = _city(city)
    keys = ("hotel", "city", "stars", "price_per_night", "amenities", "distance_km")
    return [
        dict(zip(keys, (name, c, stars, price, list(amenities), km), strict=True))
        for name, c, stars, price, amenities, km in _HOTELS
        if c == city and stars >= min_stars
    ]


@tool
def get_weather(city: str, date: str) -> dict:
    """The forecast for a city on a date: {"city", "date", "condition", "high_c"}.

    Args:
        city: City code, e.g. "ATH".
        date: The day, "YYYY-MM-DD".
    """
    city, date = _city(city), _date(date)
    for c, d, condition, high in _WEATHER:
        if (c, d) == (city, date):
            return {"city": c, "date": d, "condition": condition, "high_c": high}
    raise ToolError(f"no forecast for {city} on {date}; forecasts exist for ATH and LIS")


TOOLS = [search_flights, search_hotels, get_weather, calculate]
travel = Domain("travel", TOOLS)
TASKS = travel.tasks


def _by_price(flight: dict) -> float:
    return flight["price"]


def _by_night(hotel: dict) -> float:
    return hotel["price_per_night"]


def _flights(calls: Calls, origin: str, destination: str, date: str) -> list[dict]:
    return calls("search_flights", origin=origin, destination=destination, date=date)


@travel.task(
    "Which flight from BER to LIS on 2025-06-03 is the cheapest? "
    "Answer with its flight number only.",
    text("LH1166"),
    code="""
flights = search_flights("BER", "LIS", "2025-06-03")
final_answer(min(flights, key=lambda f: f["price"])["flight"])
""",
    tags="lookup",
)
def cheapest_flight(calls: Calls) -> Any:
    return min(_flights(calls, "BER", "LIS", "2025-06-03"), key=_by_price)["flight"]


@travel.task(
    "How many nonstop flights are there from BER to MAD on 2025-06-03? Answer with a number.",
    number(3, tolerance=0),
    code="""
flights = search_flights("BER", "MAD", "2025-06-03")
final_answer(sum(1 for f in flights if f["stops"] == 0))
""",
    tags="lookup",
)
def nonstop_count(calls: Calls) -> Any:
    return sum(1 for f in _flights(calls, "BER", "MAD", "2025-06-03") if f["stops"] == 0)


@travel.task(
    "In Lisbon (LIS), which hotel with at least 4 stars and a pool is the cheapest per night? "
    "Answer with the hotel's name only.",
    text("Tejo Suites"),
    code="""
hotels = [h for h in search_hotels("LIS", min_stars=4) if "pool" in h["amenities"]]
final_answer(min(hotels, key=lambda h: h["price_per_night"])["hotel"])
""",
    tags="lookup",
)
def hotel_with_pool(calls: Calls) -> Any:
    hotels = calls("search_hotels", city="LIS", min_stars=4)
    return min((h for h in hotels if "pool" in h["amenities"]), key=_by_night)["hotel"]


@travel.task(
    "I fly from BER to FCO on 2025-06-04 on the cheapest nonstop flight and stay 3 nights at "
    "the cheapest hotel in FCO with at least 3 stars. What does the trip cost in EUR in total? "
    "Answer with a number.",
    number(420),
    code="""
flights = [f for f in search_flights("BER", "FCO", "2025-06-04") if f["stops"] == 0]
flight = min(flights, key=lambda f: f["price"])
hotel = min(search_hotels("FCO", min_stars=3), key=lambda h: h["price_per_night"])
final_answer(flight["price"] + 3 * hotel["price_per_night"])
""",
    tags="chain",
)
def flight_and_hotel(calls: Calls) -> Any:
    flights = [f for f in _flights(calls, "BER", "FCO", "2025-06-04") if f["stops"] == 0]
    hotel = min(calls("search_hotels", city="FCO", min_stars=3), key=_by_night)
    return min(flights, key=_by_price)["price"] + 3 * hotel["price_per_night"]


@travel.task(
    "What is the cheapest round trip from BER to ATH, leaving on 2025-06-02 and coming back on "
    "2025-06-06? Answer with the total price of both flights in EUR.",
    number(334),
    code="""
out = min(search_flights("BER", "ATH", "2025-06-02"), key=lambda f: f["price"])
back = min(search_flights("ATH", "BER", "2025-06-06"), key=lambda f: f["price"])
final_answer(out["price"] + back["price"])
""",
    tags="chain",
)
def round_trip(calls: Calls) -> Any:
    out, back = calls.batch(
        ("search_flights", {"origin": "BER", "destination": "ATH", "date": "2025-06-02"}),
        ("search_flights", {"origin": "ATH", "destination": "BER", "date": "2025-06-06"}),
    )
    return min(out, key=_by_price)["price"] + min(back, key=_by_price)["price"]


@travel.task(
    "I leave BER on 2025-06-05 for a 2-night trip to LIS, MAD or FCO: the cheapest flight of "
    "that day, and 2 nights at the cheapest hotel with at least 3 stars there. Which "
    "destination makes the cheapest trip? Answer with its city code.",
    text("MAD"),
    code="""
totals = {}
for city in ["LIS", "MAD", "FCO"]:
    flight = min(search_flights("BER", city, "2025-06-05"), key=lambda f: f["price"])
    hotel = min(search_hotels(city, min_stars=3), key=lambda h: h["price_per_night"])
    totals[city] = flight["price"] + 2 * hotel["price_per_night"]
print(totals)
final_answer(min(totals, key=totals.get))
""",
    tags="loop",
)
def cheapest_destination(calls: Calls) -> Any:
    cities = ["LIS", "MAD", "FCO"]
    flights = calls.batch(
        *[
            ("search_flights", {"origin": "BER", "destination": c, "date": "2025-06-05"})
            for c in cities
        ]
    )
    hotels = calls.batch(*[("search_hotels", {"city": c, "min_stars": 3}) for c in cities])
    totals = {
        city: min(f, key=_by_price)["price"] + 2 * min(h, key=_by_night)["price_per_night"]
        for city, f, h in zip(cities, flights, hotels, strict=True)
    }
    return min(totals, key=totals.get)


@travel.task(
    "On which day from 2025-06-02 to 2025-06-06 is the cheapest flight from BER to CPH? "
    "Answer with the date (YYYY-MM-DD).",
    text("2025-06-05"),
    code="""
days = ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-06"]
prices = {d: min(f["price"] for f in search_flights("BER", "CPH", d)) for d in days}
final_answer(min(prices, key=prices.get))
""",
    tags="loop",
)
def cheapest_day(calls: Calls) -> Any:
    found = calls.batch(
        *[("search_flights", {"origin": "BER", "destination": "CPH", "date": d}) for d in DATES]
    )
    prices = {
        day: min(f["price"] for f in flights) for day, flights in zip(DATES, found, strict=True)
    }
    return min(prices, key=prices.get)


@travel.task(
    "Which is the cheapest flight from BER to VIE on 2025-06-03 that arrives before 12:00? "
    "Answer with its flight number only.",
    text("FR6380"),
    code="""
early = [f for f in search_flights("BER", "VIE", "2025-06-03") if f["arrives"] < "12:00"]
final_answer(min(early, key=lambda f: f["price"])["flight"])
""",
    tags="loop",
)
def arrive_before_noon(calls: Calls) -> Any:
    flights = _flights(calls, "BER", "VIE", "2025-06-03")
    return min((f for f in flights if f["arrives"] < "12:00"), key=_by_price)["flight"]


@travel.task(
    "On which days from 2025-06-02 to 2025-06-06 is it sunny in ATH with a high of at least "
    "30 °C? Answer with the dates (YYYY-MM-DD), separated by commas.",
    items(["2025-06-02", "2025-06-05"]),
    code="""
days = ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-06"]
hot = []
for day in days:
    w = get_weather("ATH", day)
    if w["condition"] == "sunny" and w["high_c"] >= 30:
        hot.append(day)
final_answer(hot)
""",
    tags="loop",
)
def hot_sunny_days(calls: Calls) -> Any:
    found = calls.batch(*[("get_weather", {"city": "ATH", "date": d}) for d in DATES])
    return [w["date"] for w in found if w["condition"] == "sunny" and w["high_c"] >= 30]


@travel.task(
    "I fly BER to MAD on 2025-06-02 on the cheapest flight of the day, then MAD to LIS on "
    "2025-06-04 on the cheapest nonstop flight. What do the two flights cost together in EUR? "
    "Answer with a number.",
    number(159),
    code="""
first = min(search_flights("BER", "MAD", "2025-06-02"), key=lambda f: f["price"])
nonstop = [f for f in search_flights("MAD", "LIS", "2025-06-04") if f["stops"] == 0]
second = min(nonstop, key=lambda f: f["price"])
final_answer(first["price"] + second["price"])
""",
    tags="chain",
)
def two_legs(calls: Calls) -> Any:
    first = min(_flights(calls, "BER", "MAD", "2025-06-02"), key=_by_price)
    nonstop = [f for f in _flights(calls, "MAD", "LIS", "2025-06-04") if f["stops"] == 0]
    return first["price"] + min(nonstop, key=_by_price)["price"]


@travel.task(
    "In Vienna (VIE), of the hotels with wifi at most 2 km from the centre, which has the most "
    "stars (the cheaper one if several tie)? Answer with the hotel's name only.",
    text("Ringstrasse Grand"),
    code="""
hotels = [h for h in search_hotels("VIE") if h["distance_km"] <= 2 and "wifi" in h["amenities"]]
best = min(hotels, key=lambda h: (-h["stars"], h["price_per_night"]))
final_answer(best["hotel"])
""",
    tags="loop",
)
def best_central_hotel(calls: Calls) -> Any:
    hotels = calls("search_hotels", city="VIE")
    near = [h for h in hotels if h["distance_km"] <= 2 and "wifi" in h["amenities"]]
    return min(near, key=lambda h: (-h["stars"], h["price_per_night"]))["hotel"]


@travel.task(
    "With 800 EUR, I take the cheapest flight from BER to LIS on 2025-06-03 and stay at Hotel "
    "Alfama Azul. How many whole nights can I afford? Answer with a number.",
    number(4, tolerance=0),
    code="""
flight = min(search_flights("BER", "LIS", "2025-06-03"), key=lambda f: f["price"])
hotel = [h for h in search_hotels("LIS") if h["hotel"] == "Hotel Alfama Azul"][0]
final_answer(int((800 - flight["price"]) // hotel["price_per_night"]))
""",
    tags="chain",
)
def nights_on_budget(calls: Calls) -> Any:
    flight = min(_flights(calls, "BER", "LIS", "2025-06-03"), key=_by_price)
    hotels = calls("search_hotels", city="LIS")
    nightly = next(h["price_per_night"] for h in hotels if h["hotel"] == "Hotel Alfama Azul")
    return int((800 - flight["price"]) // nightly)
