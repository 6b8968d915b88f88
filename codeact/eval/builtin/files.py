"""A file system behind an API: list, read, write, move, delete, make folders, sizes.

It is stateful: every run gets a fresh ``Disk`` with the same files, and the checkers of the
tasks that change files look at the disk afterwards.
"""

from __future__ import annotations

import posixpath
from typing import Any

from codeact.eval.builtin._common import Domain
from codeact.eval.checks import items, number, text
from codeact.eval.oracle import Calls
from codeact.tools import Tool, ToolError

_FILES = {
    "/etc/app.conf": "# app settings\nname = shop\nport = 8080\ndebug = false\n",
    "/notes/todo.txt": "buy milk\ncall the bank\nrenew passport\n",
    "/notes/ideas.md": "# Ideas\n- a garden on the roof\n- learn the cello\n",
    "/logs/app-2025-06-01.log": (
        "09:00:01 INFO start\n09:05:12 ERROR db timeout\n09:06:00 INFO retry ok\n"
        "10:15:30 WARN slow request\n11:00:00 ERROR disk full\n"
    ),
    "/logs/app-2025-06-02.log": (
        "08:00:00 INFO start\n08:30:10 INFO ok\n12:00:00 ERROR payment declined\n"
    ),
    "/logs/app-2025-06-03.log": (
        "07:59:59 INFO start\n13:45:00 ERROR cache miss storm\n14:00:00 ERROR cache miss storm\n"
        "15:00:00 INFO recovered\n"
    ),
    "/logs/worker.log": "job 1 done\njob 2 ERROR: bad input\njob 3 done\n",
    "/data/sales_q1.csv": "month,amount\njan,1200\nfeb,1350\nmar,990\n",
    "/data/sales_q2.csv": "month,amount\napr,1500\nmay,1420\njun,1610\n",
    "/data/big.json": '{"rows": ['
    + ", ".join(f'{{"id": {i}, "ok": true}}' for i in range(12))
    + "]}\n",
    "/data/raw/sales_2024.csv": "month,amount\n"
    + "".join(f"m{m:02d},{1000 + 37 * m}\n" for m in range(1, 13)),
    "/data/raw/readme.txt": "Raw exports, do not edit.\n",
    "/data/archive/old.csv": "month,amount\ndec,870\n",
    "/projects/alpha/main.py": "from utils import total\n\nprint(total([1, 2, 3]))\n",
    "/projects/alpha/utils.py": "# TODO: refactor\ndef total(xs):\n    return sum(xs)\n",
    "/projects/beta/app.py": "# TODO: add tests\nimport lib.helpers\n",
    "/projects/beta/lib/helpers.py": (
        "def rounded(x):\n    # TODO: fix rounding of halves\n    return round(x)\n"
    ),
    "/tmp/a.tmp": "",
    "/tmp/b.tmp": "x",
    "/tmp/c.tmp": "",
    "/tmp/d.txt": "keep me",
    "/tmp/e.log": "",
    "/docs/guide.txt": "How to use the shop.\n",
    "/docs/faq.txt": "Q: Is it open on Sundays?\nA: Yes.\n",
    "/docs/index.md": "# Docs\n",
}


class Disk:
    """A small in-memory file system; paths are absolute, like "/logs/worker.log"."""

    def __init__(self) -> None:
        self.files = dict(_FILES)
        self.dirs = {"/"}
        for path in self.files:
            self._add_parents(path)

    def _add_parents(self, path: str) -> None:
        parent = posixpath.dirname(path)
        while parent not in self.dirs:
            self.dirs.add(parent)
            parent = posixpath.dirname(parent)

    def tools(self) -> list[Tool]:
        methods = [
            self.list_dir,
            self.read_file,
            self.file_size,
            self.write_file,
            self.make_dir,
            self.move,
            self.delete,
        ]
        return [Tool(m) for m in methods]

    def _path(self, path: str) -> str:
        if not path.startswith("/"):
            raise ToolError(f"paths are absolute, like '/logs/worker.log'; got {path!r}")
        return posixpath.normpath(path) if path != "/" else "/"

    def _file(self, path: str) -> str:
        path = self._path(path)
        if path not in self.files:
            kind = "a folder" if path in self.dirs else "not there"
            raise ToolError(f"{path} is {kind}; list_dir shows what a folder holds")
        return path

    def list_dir(self, path: str) -> list[str]:
        """The names in a folder, sorted; folders end with "/", e.g. ["raw/", "big.json"].

        Args:
            path: The folder, e.g. "/data".
        """
        path = self._path(path)
        if path not in self.dirs:
            raise ToolError(f"no folder {path}")
        names = {p[len(path.rstrip("/")) + 1 :] for p in self.files if posixpath.dirname(p) == path}
        names |= {
            d[len(path.rstrip("/")) + 1 :] + "/"
            for d in self.dirs
            if d != "/" and posixpath.dirname(d) == path
        }
        return sorted(names)

    def read_file(self, path: str) -> str:
        """The text of a file.

        Args:
            path: The file, e.g. "/notes/todo.txt".
        """
        return self.files[self._file(path)]

    def file_size(self, path: str) -> int:
        """The size of a file in bytes.

        Args:
            path: The file.
        """
        return len(self.files[self._file(path)].encode("utf-8"))

    def write_file(self, path: str, content: str) -> str:
        """Create or overwrite a file; its folder must exist (see ``make_dir``).

        Args:
            path: The file, e.g. "/reports/summary.txt".
            content: The text to write.
        """
        path = self._path(path)
        if path in self.dirs:
            raise ToolError(f"{path} is a folder")
        if posixpath.dirname(path) not in self.dirs:
            raise ToolError(f"no folder {posixpath.dirname(path)}; make it first with make_dir")
        self.files[path] = content
        return f"wrote {len(content.encode('utf-8'))} bytes to {path}"

    def make_dir(self, path: str) -> str:
        """Create a folder, and its parents if needed.

        Args:
            path: The folder, e.g. "/archive/logs".
        """
        path = self._path(path)
        if path in self.files:
            raise ToolError(f"{path} is a file")
        self._add_parents(path + "/x")
        return f"folder {path} exists"

    def move(self, source: str, destination: str) -> str:
        """Move or rename a file; a destination that is a folder keeps the file's name.

        Args:
            source: The file to move.
            destination: The new path, or a folder to move it into.
        """
        source = self._file(source)
        destination = self._path(destination)
        if destination in self.dirs:
            destination = posixpath.join(destination, posixpath.basename(source))
        if posixpath.dirname(destination) not in self.dirs:
            raise ToolError(f"no folder {posixpath.dirname(destination)}; make it first")
        if destination in self.files:
            raise ToolError(f"{destination} already exists")
        self.files[destination] = self.files.pop(source)
        return f"moved {source} to {destination}"

    def delete(self, path: str) -> str:
        """Delete a file, or an empty folder.

        Args:
            path: What to delete.
        """
        path = self._path(path)
        if path in self.files:
            del self.files[path]
        elif path in self.dirs and path != "/":
            if self.list_dir(path):
                raise ToolError(f"{path} is not empty")
            self.dirs.discard(path)
        else:
            raise ToolError(f"{path} is not there")
        return f"deleted {path}"


files = Domain("files", lambda disk: disk.tools(), setup=Disk)
TASKS = files.tasks

_LOG_NAMES = ["app-2025-06-01.log", "app-2025-06-02.log", "app-2025-06-03.log", "worker.log"]
_REPORT = "app-2025-06-01.log: 2\napp-2025-06-02.log: 1\napp-2025-06-03.log: 2\nworker.log: 1"


def _walk(calls: Calls, folder: str) -> list[str]:
    """Every file under a folder, by listing folders one call at a time."""
    found = []
    for name in calls("list_dir", path=folder):
        path = f"{folder.rstrip('/')}/{name.rstrip('/')}"
        found += _walk(calls, path) if name.endswith("/") else [path]
    return found


_WALK = """
def walk(folder):
    paths = []
    for name in list_dir(folder):
        path = folder.rstrip("/") + "/" + name.rstrip("/")
        paths += walk(path) if name.endswith("/") else [path]
    return paths
"""


def _archived(disk: Disk) -> bool:
    moved = [f"/archive/logs/{n}" for n in _LOG_NAMES[:3]]
    return all(disk.files.get(p) == _FILES[f"/logs/{p.rsplit('/', 1)[1]}"] for p in moved) and [
        p for p in disk.files if p.startswith("/logs/")
    ] == ["/logs/worker.log"]


def _tmp_cleaned(disk: Disk) -> bool:
    return sorted(p for p in disk.files if p.startswith("/tmp/")) == ["/tmp/b.tmp", "/tmp/d.txt"]


def _docs_renamed(disk: Disk) -> bool:
    docs = {p: c for p, c in disk.files.items() if p.startswith("/docs/")}
    return docs == {
        "/docs/guide.md": _FILES["/docs/guide.txt"],
        "/docs/faq.md": _FILES["/docs/faq.txt"],
        "/docs/index.md": _FILES["/docs/index.md"],
    }


def _report_written(disk: Disk) -> bool:
    return disk.files.get("/reports/errors.txt", "").strip() == _REPORT


@files.task(
    "Which port does the configuration file /etc/app.conf set? Answer with the number.",
    number(8080, tolerance=0),
    code="""
for line in read_file("/etc/app.conf").splitlines():
    if line.startswith("port"):
        final_answer(int(line.split("=")[1]))
""",
    tags="lookup",
)
def config_port(calls: Calls) -> Any:
    config = calls("read_file", path="/etc/app.conf")
    return next(int(line.split("=")[1]) for line in config.splitlines() if line.startswith("port"))


@files.task(
    "How many files are in the folder /logs? Answer with a number.",
    number(4, tolerance=0),
    code='final_answer(len([n for n in list_dir("/logs") if not n.endswith("/")]))',
    tags="lookup",
)
def count_logs(calls: Calls) -> Any:
    return len([n for n in calls("list_dir", path="/logs") if not n.endswith("/")])


@files.task(
    "How many items are on the list in /notes/todo.txt (one per line)? Answer with a number.",
    number(3, tolerance=0),
    code='final_answer(len([l for l in read_file("/notes/todo.txt").splitlines() if l.strip()]))',
    tags="lookup",
)
def todo_items(calls: Calls) -> Any:
    return len([line for line in calls("read_file", path="/notes/todo.txt").splitlines() if line])


@files.task(
    "Which file directly in /data (not in its subfolders) is the largest? Answer with its "
    "full path.",
    text("/data/big.json"),
    code="""
paths = ["/data/" + n for n in list_dir("/data") if not n.endswith("/")]
final_answer(max(paths, key=file_size))
""",
    tags="loop",
)
def largest_file(calls: Calls) -> Any:
    paths = [f"/data/{n}" for n in calls("list_dir", path="/data") if not n.endswith("/")]
    sizes = calls.batch(*[("file_size", {"path": p}) for p in paths])
    return max(zip(paths, sizes, strict=True), key=lambda pair: pair[1])[0]


@files.task(
    "What is the total size in bytes of all .csv files under /data, subfolders included? "
    "Answer with a number.",
    number(221, tolerance=0),
    code=_WALK + 'final_answer(sum(file_size(p) for p in walk("/data") if p.endswith(".csv")))',
    tags="loop",
)
def csv_total_size(calls: Calls) -> Any:
    csvs = [p for p in _walk(calls, "/data") if p.endswith(".csv")]
    return sum(calls.batch(*[("file_size", {"path": p}) for p in csvs]))


@files.task(
    "Which file under /projects (subfolders included) contains the text 'TODO: fix'? Answer "
    "with its full path.",
    text("/projects/beta/lib/helpers.py"),
    code=_WALK + 'final_answer([p for p in walk("/projects") if "TODO: fix" in read_file(p)][0])',
    tags="loop",
)
def find_todo(calls: Calls) -> Any:
    paths = _walk(calls, "/projects")
    texts = calls.batch(*[("read_file", {"path": p}) for p in paths])
    return next(p for p, t in zip(paths, texts, strict=True) if "TODO: fix" in t)


@files.task(
    "Move every file in /logs whose name starts with 'app-' into a new folder /archive/logs. "
    "How many files did you move? Answer with a number.",
    number(3, tolerance=0).and_state(_archived),
    code="""
make_dir("/archive/logs")
moved = 0
for name in list_dir("/logs"):
    if name.startswith("app-"):
        move("/logs/" + name, "/archive/logs")
        moved += 1
final_answer(moved)
""",
    tags="loop",
)
def archive_logs(calls: Calls) -> Any:
    calls("make_dir", path="/archive/logs")
    names = [n for n in calls("list_dir", path="/logs") if n.startswith("app-")]
    for name in names:
        calls("move", source=f"/logs/{name}", destination="/archive/logs")
    return len(names)


@files.task(
    "Delete every empty file in /tmp. How many files are left in /tmp? Answer with a number.",
    number(2, tolerance=0).and_state(_tmp_cleaned),
    code="""
for name in list_dir("/tmp"):
    if file_size("/tmp/" + name) == 0:
        delete("/tmp/" + name)
final_answer(len(list_dir("/tmp")))
""",
    tags="loop",
)
def clean_tmp(calls: Calls) -> Any:
    names = calls("list_dir", path="/tmp")
    sizes = calls.batch(*[("file_size", {"path": f"/tmp/{n}"}) for n in names])
    for name, size in zip(names, sizes, strict=True):
        if size == 0:
            calls("delete", path=f"/tmp/{name}")
    return len(calls("list_dir", path="/tmp"))


@files.task(
    "How many lines containing 'ERROR' are there in all the files in /logs together? "
    "Answer with a number.",
    number(6, tolerance=0),
    code="""
final_answer(sum(1 for name in list_dir("/logs")
                 for line in read_file("/logs/" + name).splitlines() if "ERROR" in line))
""",
    tags="loop",
)
def error_lines(calls: Calls) -> Any:
    names = calls("list_dir", path="/logs")
    texts = calls.batch(*[("read_file", {"path": f"/logs/{n}"}) for n in names])
    return sum(1 for t in texts for line in t.splitlines() if "ERROR" in line)


@files.task(
    "Rename every .txt file in /docs to the same name ending in .md. Then answer with the "
    "names of the files in /docs, separated by commas.",
    items(["faq.md", "guide.md", "index.md"]).and_state(_docs_renamed),
    code="""
for name in list_dir("/docs"):
    if name.endswith(".txt"):
        move("/docs/" + name, "/docs/" + name[:-4] + ".md")
final_answer(list_dir("/docs"))
""",
    tags="loop",
)
def rename_docs(calls: Calls) -> Any:
    for name in calls("list_dir", path="/docs"):
        if name.endswith(".txt"):
            calls("move", source=f"/docs/{name}", destination=f"/docs/{name[:-4]}.md")
    return calls("list_dir", path="/docs")


@files.task(
    "Write the file /reports/errors.txt with one line per file in /logs, sorted by file name, "
    "in the form '<file name>: <number of lines containing ERROR>'. Then answer with the "
    "total number of such lines.",
    number(6, tolerance=0).and_state(_report_written),
    code="""
lines, total = [], 0
for name in sorted(list_dir("/logs")):
    n = sum(1 for line in read_file("/logs/" + name).splitlines() if "ERROR" in line)
    lines.append(f"{name}: {n}")
    total += n
make_dir("/reports")
write_file("/reports/errors.txt", "\\n".join(lines) + "\\n")
final_answer(total)
""",
    tags="loop",
)
def error_report(calls: Calls) -> Any:
    names = sorted(calls("list_dir", path="/logs"))
    texts = calls.batch(*[("read_file", {"path": f"/logs/{n}"}) for n in names])
    counts = [sum(1 for line in t.splitlines() if "ERROR" in line) for t in texts]
    calls("make_dir", path="/reports")
    report = "".join(f"{n}: {c}\n" for n, c in zip(names, counts, strict=True))
    calls("write_file", path="/reports/errors.txt", content=report)
    return sum(counts)
