"""A team calendar: who meets when, free slots, booking and cancelling events.

The calendar is stateful: every run gets a fresh ``Calendar``, and the checkers of the booking
and cancelling tasks look at the calendar itself.
"""

from __future__ import annotations

from typing import Any

from codeact.eval.builtin._common import Domain
from codeact.eval.checks import clock, items, number, text, yes_no
from codeact.eval.oracle import Calls
from codeact.tools import Tool, ToolError

PEOPLE = ["Ana", "Ben", "Chen", "Dara"]
WEEK = ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-06"]  # Monday to Friday
_ALL = tuple(PEOPLE)
_DAY_START, _DAY_END = 9 * 60, 17 * 60

# title, date, start, end, attendees
_EVENTS = [
    ("Standup", "2025-06-02", "09:00", "09:15", _ALL),
    ("Design sync", "2025-06-02", "10:00", "11:00", ("Ana", "Chen")),
    ("1:1 Ana/Ben", "2025-06-02", "11:30", "12:00", ("Ana", "Ben")),
    ("Lunch talk", "2025-06-02", "12:30", "13:30", ("Ben", "Dara")),
    ("Customer call", "2025-06-02", "14:00", "15:00", ("Ana",)),
    ("Budget review", "2025-06-02", "15:30", "16:30", ("Ben", "Dara")),
    ("Standup", "2025-06-03", "09:00", "09:15", _ALL),
    ("Sprint planning", "2025-06-03", "09:30", "11:00", ("Ana", "Ben", "Chen")),
    ("Interview", "2025-06-03", "11:00", "12:00", ("Chen", "Dara")),
    ("Vendor demo", "2025-06-03", "13:00", "14:00", ("Ben",)),
    ("Code review", "2025-06-03", "13:30", "14:30", ("Ana", "Chen")),
    ("Roadmap", "2025-06-03", "15:00", "16:00", ("Ana", "Dara")),
    ("Hiring debrief", "2025-06-03", "15:30", "16:00", ("Ana", "Chen")),
    ("Standup", "2025-06-04", "09:00", "09:15", _ALL),
    ("Workshop", "2025-06-04", "10:00", "12:00", ("Ben", "Chen", "Dara")),
    ("Lunch", "2025-06-04", "12:00", "13:00", ("Ana",)),
    ("Support rotation", "2025-06-04", "13:00", "17:00", ("Dara",)),
    ("Standup", "2025-06-05", "09:00", "09:15", _ALL),
    ("Architecture review", "2025-06-05", "09:30", "10:30", ("Ana", "Ben")),
    ("1:1 Chen/Dara", "2025-06-05", "10:30", "11:00", ("Chen", "Dara")),
    ("Planning poker", "2025-06-05", "11:00", "12:00", ("Ana", "Ben", "Chen")),
    ("Offsite prep", "2025-06-05", "14:00", "16:00", _ALL),
    ("Standup", "2025-06-05", "16:30", "16:45", ("Ben", "Dara")),
    ("Standup", "2025-06-06", "09:00", "09:15", _ALL),
    ("Demo day", "2025-06-06", "10:00", "12:00", _ALL),
    ("Retro", "2025-06-06", "14:00", "15:00", ("Ana", "Ben", "Chen")),
    ("All-hands prep", "2025-06-06", "16:00", "17:00", ("Dara",)),
]


def _minutes(hhmm: str) -> int:
    try:
        hours, minutes = hhmm.strip().split(":")
        value = int(hours) * 60 + int(minutes)
    except ValueError:
        raise ToolError(f"times are 'HH:MM' (24 h), got {hhmm!r}") from None
    if not 0 <= value < 24 * 60:
        raise ToolError(f"times are 'HH:MM' (24 h), got {hhmm!r}")
    return value


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class Calendar:
    """The team's calendar for the week of 2025-06-02: events with ids E1, E2, ..."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        for title, date, start, end, attendees in _EVENTS:
            self._add(title, date, start, end, list(attendees))

    def _add(self, title: str, date: str, start: str, end: str, attendees: list[str]) -> dict:
        event_id = f"E{len(self.events) + 1}"
        while event_id in self.events:
            event_id += "b"
        event = {"id": event_id, "title": title, "date": date, "start": start, "end": end}
        self.events[event_id] = {**event, "attendees": attendees}
        return self.events[event_id]

    def tools(self) -> list[Tool]:
        methods = [
            self.list_people,
            self.list_events,
            self.free_slots,
            self.create_event,
            self.cancel_event,
        ]
        return [Tool(m) for m in methods]

    def _person(self, name: str) -> str:
        for person in PEOPLE:
            if person.lower() == name.strip().lower():
                return person
        raise ToolError(f"unknown person {name!r}; the team is {', '.join(PEOPLE)}")

    def _date(self, date: str) -> str:
        if date not in WEEK:
            raise ToolError(f"the calendar covers 2025-06-02 to 2025-06-06, not {date!r}")
        return date

    def _busy(self, person: str, date: str) -> list[tuple[int, int]]:
        return [
            (_minutes(e["start"]), _minutes(e["end"]))
            for e in self.events.values()
            if e["date"] == date and person in e["attendees"]
        ]

    def list_people(self) -> list[str]:
        """The names of everyone on the team."""
        return list(PEOPLE)

    def list_events(self, person: str, date: str) -> list[dict]:
        """A person's events on a day, by start time.

        Each event is {"id", "title", "date", "start", "end", "attendees"}, times "HH:MM".

        Args:
            person: A name from ``list_people``, e.g. "Ana".
            date: The day, "YYYY-MM-DD" (2025-06-02 to 2025-06-06).
        """
        person, date = self._person(person), self._date(date)
        found = [
            {**e, "attendees": list(e["attendees"])}
            for e in self.events.values()
            if e["date"] == date and person in e["attendees"]
        ]
        return sorted(found, key=lambda e: e["start"])

    def free_slots(self, person: str, date: str, minutes: int) -> list[str]:
        """Start times ("HH:MM", every half hour, 09:00 to 17:00) when a person is free for
        ``minutes`` minutes on a day.

        Args:
            person: A name from ``list_people``.
            date: The day, "YYYY-MM-DD".
            minutes: How long the slot must be, e.g. 30.
        """
        person, date = self._person(person), self._date(date)
        if minutes <= 0:
            raise ToolError("minutes must be positive")
        busy = self._busy(person, date)
        return [
            _hhmm(start)
            for start in range(_DAY_START, _DAY_END - minutes + 1, 30)
            if all(start + minutes <= b or start >= e for b, e in busy)
        ]

    def create_event(
        self, title: str, date: str, start: str, minutes: int, attendees: list[str]
    ) -> dict:
        """Book an event for some people; refused if it clashes with one of their events.

        Events must lie between 09:00 and 17:00. Returns the event with its new id.

        Args:
            title: What the event is called.
            date: The day, "YYYY-MM-DD".
            start: Its start, "HH:MM".
            minutes: How long it lasts.
            attendees: Names of the people attending.
        """
        date = self._date(date)
        people = [self._person(a) for a in attendees]
        if not people:
            raise ToolError("an event needs at least one attendee")
        begin = _minutes(start)
        end = begin + minutes
        if minutes <= 0 or begin < _DAY_START or end > _DAY_END:
            raise ToolError("events must lie between 09:00 and 17:00 and last a positive time")
        for e in self.events.values():
            clash = [p for p in people if p in e["attendees"]]
            overlaps = begin < _minutes(e["end"]) and _minutes(e["start"]) < end
            if e["date"] == date and clash and overlaps:
                raise ToolError(
                    f"{', '.join(clash)} already has {e['title']!r} ({e['id']}) "
                    f"{e['start']}-{e['end']} that day"
                )
        return dict(self._add(title, date, _hhmm(begin), _hhmm(end), people))

    def cancel_event(self, event_id: str) -> str:
        """Cancel an event (for all its attendees).

        Args:
            event_id: The event's id, e.g. "E12".
        """
        if event_id.strip() not in self.events:
            raise ToolError(f"no event {event_id!r}; ids come from list_events")
        event = self.events.pop(event_id.strip())
        return f"cancelled {event['id']} ({event['title']}, {event['date']} {event['start']})"


schedule = Domain("schedule", lambda calendar: calendar.tools(), setup=Calendar)
TASKS = schedule.tasks


def _booked(calendar: Calendar) -> bool:
    booked = [e for e in calendar.events.values() if e["title"] == "Launch review"]
    return len(booked) == 1 and (
        booked[0]["date"],
        booked[0]["start"],
        booked[0]["end"],
        sorted(booked[0]["attendees"]),
    ) == ("2025-06-03", "12:00", "13:00", ["Ana", "Ben", "Chen"])


def _standups_cancelled(calendar: Calendar) -> bool:
    left = [e["title"] for e in calendar.events.values() if e["date"] == "2025-06-05"]
    return "Standup" not in left and len(calendar.events) == len(_EVENTS) - 2


@schedule.task(
    "How many events does Chen have on 2025-06-03? Answer with a number.",
    number(5, tolerance=0),
    code='final_answer(len(list_events("Chen", "2025-06-03")))',
    tags="lookup",
)
def count_events(calls: Calls) -> Any:
    return len(calls("list_events", person="Chen", date="2025-06-03"))


@schedule.task(
    "At what time does Dara's last event on 2025-06-02 end? Answer with the time (HH:MM).",
    clock("16:30"),
    code='final_answer(list_events("Dara", "2025-06-02")[-1]["end"])',
    tags="lookup",
)
def last_event_end(calls: Calls) -> Any:
    return max(e["end"] for e in calls("list_events", person="Dara", date="2025-06-02"))


@schedule.task(
    "What is the earliest time on 2025-06-02 when Ana and Ben are both free for 30 minutes? "
    "Answer with the start time (HH:MM).",
    clock("09:30"),
    code="""
ana = free_slots("Ana", "2025-06-02", 30)
ben = set(free_slots("Ben", "2025-06-02", 30))
final_answer(next(t for t in ana if t in ben))
""",
    tags="loop",
)
def common_slot(calls: Calls) -> Any:
    ana, ben = calls.batch(
        ("free_slots", {"person": "Ana", "date": "2025-06-02", "minutes": 30}),
        ("free_slots", {"person": "Ben", "date": "2025-06-02", "minutes": 30}),
    )
    return next(t for t in ana if t in ben)


@schedule.task(
    "Book a 60-minute event 'Launch review' on 2025-06-03 for Ana, Ben and Chen at the "
    "earliest time all three are free. Answer with its start time (HH:MM).",
    clock("12:00").and_state(_booked),
    code="""
people = ["Ana", "Ben", "Chen"]
slots = [set(free_slots(p, "2025-06-03", 60)) for p in people]
start = min(slots[0] & slots[1] & slots[2])
event = create_event("Launch review", "2025-06-03", start, 60, people)
final_answer(event["start"])
""",
    tags="loop",
)
def book_meeting(calls: Calls) -> Any:
    people = ["Ana", "Ben", "Chen"]
    slots = calls.batch(
        *[("free_slots", {"person": p, "date": "2025-06-03", "minutes": 60}) for p in people]
    )
    start = min(set(slots[0]) & set(slots[1]) & set(slots[2]))
    event = calls(
        "create_event",
        title="Launch review",
        date="2025-06-03",
        start=start,
        minutes=60,
        attendees=people,
    )
    return event["start"]


@schedule.task(
    "Who on the team has the most events on 2025-06-05? Answer with the name only.",
    text("Ben"),
    code="""
counts = {p: len(list_events(p, "2025-06-05")) for p in list_people()}
print(counts)
final_answer(max(counts, key=counts.get))
""",
    tags="loop",
)
def busiest_person(calls: Calls) -> Any:
    people = calls("list_people")
    found = calls.batch(*[("list_events", {"person": p, "date": "2025-06-05"}) for p in people])
    counts = {p: len(events) for p, events in zip(people, found, strict=True)}
    return max(counts, key=counts.get)


def _length(event: dict) -> int:
    return _minutes(event["end"]) - _minutes(event["start"])


@schedule.task(
    "How many minutes of events does Chen have in total from 2025-06-02 to 2025-06-06? "
    "Answer with a number.",
    number(885, tolerance=0),
    code="""
def length(e):
    sh, sm = e["start"].split(":")
    eh, em = e["end"].split(":")
    return (int(eh) * 60 + int(em)) - (int(sh) * 60 + int(sm))

days = ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-06"]
final_answer(sum(length(e) for d in days for e in list_events("Chen", d)))
""",
    tags="loop",
)
def weekly_minutes(calls: Calls) -> Any:
    found = calls.batch(*[("list_events", {"person": "Chen", "date": d}) for d in WEEK])
    return sum(_length(e) for events in found for e in events)


@schedule.task(
    "Cancel every event called 'Standup' that Dara attends on 2025-06-05. How many events did "
    "you cancel? Answer with a number.",
    number(2, tolerance=0).and_state(_standups_cancelled),
    code="""
standups = [e for e in list_events("Dara", "2025-06-05") if e["title"] == "Standup"]
for e in standups:
    cancel_event(e["id"])
final_answer(len(standups))
""",
    tags="loop",
)
def cancel_standups(calls: Calls) -> Any:
    found = calls("list_events", person="Dara", date="2025-06-05")
    standups = [e for e in found if e["title"] == "Standup"]
    for event in standups:  # one at a time: a reply's calls run concurrently
        calls("cancel_event", event_id=event["id"])
    return len(standups)


@schedule.task(
    "On which day from 2025-06-02 to 2025-06-06 does Ana have the fewest events? "
    "Answer with the date (YYYY-MM-DD).",
    text("2025-06-04"),
    code="""
days = ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-06"]
counts = {d: len(list_events("Ana", d)) for d in days}
final_answer(min(counts, key=counts.get))
""",
    tags="loop",
)
def lightest_day(calls: Calls) -> Any:
    found = calls.batch(*[("list_events", {"person": "Ana", "date": d}) for d in WEEK])
    counts = {d: len(events) for d, events in zip(WEEK, found, strict=True)}
    return min(counts, key=counts.get)


@schedule.task(
    "Is Ben free from 14:00 to 15:00 on 2025-06-04? Answer yes or no.",
    yes_no(True),
    code='final_answer("yes" if "14:00" in free_slots("Ben", "2025-06-04", 60) else "no")',
    tags="lookup",
)
def is_free(calls: Calls) -> Any:
    slots = calls("free_slots", person="Ben", date="2025-06-04", minutes=60)
    return "yes" if "14:00" in slots else "no"


@schedule.task(
    "Which of Ana's events on 2025-06-03 overlap another of her events that day? "
    "Answer with their titles, separated by commas.",
    items(["Roadmap", "Hiring debrief"]),
    code="""
events = list_events("Ana", "2025-06-03")
clashing = [a["title"] for a in events
            if any(b is not a and a["start"] < b["end"] and b["start"] < a["end"] for b in events)]
final_answer(clashing)
""",
    tags="loop",
)
def double_booked(calls: Calls) -> Any:
    events = calls("list_events", person="Ana", date="2025-06-03")
    return [
        a["title"]
        for a in events
        if any(b is not a and a["start"] < b["end"] and b["start"] < a["end"] for b in events)
    ]


@schedule.task(
    "What is the first day from 2025-06-02 to 2025-06-06 on which Dara is free for 3 hours "
    "in a row, starting at 13:00 or later? Answer with the date (YYYY-MM-DD).",
    text("2025-06-06"),
    code="""
days = ["2025-06-02", "2025-06-03", "2025-06-04", "2025-06-05", "2025-06-06"]
final_answer(next(d for d in days if any(t >= "13:00" for t in free_slots("Dara", d, 180))))
""",
    tags="loop",
)
def free_afternoon(calls: Calls) -> Any:
    found = calls.batch(
        *[("free_slots", {"person": "Dara", "date": d, "minutes": 180}) for d in WEEK]
    )
    return next(d for d, slots in zip(WEEK, found, strict=True) if any(t >= "13:00" for t in slots))
