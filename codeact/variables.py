"""Values given to a run (``run(task, variables={...})``), put into the sandbox as data.

The direction is host → sandbox only, and nothing is pickled: every value becomes JSON on the
host, travels inside the code of one ``sandbox.run`` as a string literal, and is rebuilt there
by ``json.loads`` — so it works in every backend, through the same channel as any code. JSON
types go as they are (tuples as lists); numpy arrays and pandas DataFrames or Series go as
lists plus their dtypes and are rebuilt with numpy or pandas inside the sandbox, which must be
able to import them. Anything else is refused before the run starts.
"""

from __future__ import annotations

import json
import keyword
import math
from collections.abc import Mapping
from typing import Any

#: Helpers the generated code defines, uses and deletes again (the code's own names are kept).
_PRELUDE = """\
def _codeact_value(text):
    import json
    return json.loads(text)
"""
_ARRAY = """\
def _codeact_array(text, dtype):
    import json
    import numpy
    return numpy.array(json.loads(text), dtype=dtype)
"""
_FRAME = """\
def _codeact_series(data):
    import pandas
    values = pandas.Series(data["values"], dtype=data["dtype"])
    if data["index"] is not None:
        values.index = pandas.Index(data["index"]["values"], dtype=data["index"]["dtype"])
    values.name = data["name"]
    return values
def _codeact_frame(text):
    import json
    import pandas
    data = json.loads(text)
    columns = [_codeact_series({**column, "index": None}) for column in data["columns"]]
    frame = pandas.DataFrame({i: column for i, column in enumerate(columns)})
    frame.columns = [column["name"] for column in data["columns"]]
    if data["index"] is not None:
        frame.index = pandas.Index(data["index"]["values"], dtype=data["index"]["dtype"])
    return frame
"""


def check_names(variables: Mapping[str, Any]) -> None:
    for name in variables:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"variables: {name!r} is not a valid Python variable name")
        if name.startswith("_"):
            raise ValueError(f"variables: {name!r} starts with '_'; give it a public name")


def assignment_code(variables: Mapping[str, Any]) -> str:
    """Python that binds each variable in the sandbox from its JSON (the data as literals)."""
    check_names(variables)
    lines, helpers = [], ["_codeact_value"]
    for name, value in variables.items():
        kind = _kind(value)
        if kind == "array":
            helpers.append("_codeact_array")
            text = _dumps(_array_values(value))
            lines.append(f"{name} = _codeact_array({text!r}, {str(value.dtype)!r})")
        elif kind in ("frame", "series"):
            helpers += ["_codeact_series", "_codeact_frame"]
            if kind == "frame":
                lines.append(f"{name} = _codeact_frame({_dumps(_frame_data(value))!r})")
            else:
                text = _dumps(_series_data(value))
                lines.append(f"{name} = _codeact_series(_codeact_value({text!r}))")
        else:
            lines.append(f"{name} = _codeact_value({_dumps(_json_value(name, value))!r})")
    prelude = _PRELUDE + (_ARRAY if "_codeact_array" in helpers else "")
    prelude += _FRAME if "_codeact_frame" in helpers else ""
    unique = list(dict.fromkeys(helpers))
    return "\n".join([prelude, *lines, f"del {', '.join(unique)}", ""])


def as_json(variables: Mapping[str, Any]) -> dict[str, Any]:
    """The variables as plain JSON data (arrays as nested lists, frames as records)."""
    check_names(variables)
    out: dict[str, Any] = {}
    for name, value in variables.items():
        kind = _kind(value)
        if kind == "array":
            out[name] = _array_values(value)
        elif kind == "frame":
            out[name] = json.loads(value.to_json(orient="records", date_format="iso"))
        elif kind == "series":
            out[name] = _series_data(value)["values"]
        else:
            out[name] = _json_value(name, value)
    return out


def describe(variables: Mapping[str, Any]) -> str:
    """One line per variable for the prompt: name, type, and shape or a short value."""
    return "\n".join(f"- `{name}`: {_summary(value)}" for name, value in variables.items())


def _summary(value: Any) -> str:
    kind = _kind(value)
    if kind == "array":
        return f"numpy array, shape {tuple(value.shape)}, dtype {value.dtype}"
    if kind == "frame":
        columns = ", ".join(f"{c} ({t})" for c, t in zip(value.columns, value.dtypes, strict=True))
        return f"pandas DataFrame, {len(value):,} rows x {value.shape[1]} columns: {columns}"
    if kind == "series":
        return f"pandas Series {value.name!r}, {len(value):,} values, dtype {value.dtype}"
    if isinstance(value, dict):
        keys = ", ".join(repr(k) for k in list(value)[:10])
        more = f" and {len(value) - 10} more" if len(value) > 10 else ""
        return f"dict with {len(value)} keys: {keys}{more}"
    if isinstance(value, (list, tuple)):
        return f"list of {len(value)} items"
    text = repr(value)
    if len(text) > 80:
        return f"{type(value).__name__} of {len(text):,} characters"
    return f"{type(value).__name__} = {text}"


def _kind(value: Any) -> str:
    module = type(value).__module__
    name = type(value).__name__
    if module == "numpy" and name == "ndarray":
        return "array"
    if module.startswith("pandas") and name == "DataFrame":
        return "frame"
    if module.startswith("pandas") and name == "Series":
        return "series"
    return "json"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))  # NaN/inf allowed


def _json_value(name: str, value: Any) -> Any:
    """``value`` checked to be JSON data (tuples become lists); ``TypeError`` otherwise."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value  # NaN and infinities too: json writes them and reads them back
    if type(value).__module__ == "numpy" and hasattr(value, "item"):  # a numpy scalar
        return _json_value(name, value.item())
    if isinstance(value, (list, tuple)):
        return [_json_value(name, v) for v in value]
    if isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError(f"variables: {name!r} has a non-string key {key!r}")
        return {k: _json_value(name, v) for k, v in value.items()}
    raise TypeError(
        f"variables: {name!r} is a {type(value).__name__}; give JSON data (dict, list, str, "
        "number, bool, None), a numpy array or a pandas DataFrame/Series"
    )


_ARRAY_KINDS = "biufUM"  # bool, ints, floats, unicode strings, datetimes


def _array_values(array: Any) -> Any:
    if array.dtype.kind not in _ARRAY_KINDS:
        raise TypeError(
            f"variables: numpy arrays of dtype {array.dtype} cannot be sent as data; use "
            "numbers, booleans, strings or datetimes"
        )
    if array.dtype.kind == "M":
        return array.astype(str).tolist()
    return array.tolist()


def _column(values: Any) -> dict[str, Any]:
    """A pandas column or index as JSON values plus the dtype to rebuild it with."""
    dtype = str(values.dtype)
    if values.dtype.kind == "M" or dtype.startswith("datetime64"):
        data = [None if v is None or v != v else v.isoformat() for v in values.tolist()]
    elif dtype == "category":
        data = [None if v != v else v for v in values.astype(object).tolist()]
    else:
        data = values.tolist()
        if dtype == "object":  # missing values of object columns are NaN or None: send None
            data = [None if isinstance(v, float) and math.isnan(v) else v for v in data]
    for v in data:
        if not (v is None or isinstance(v, (bool, int, float, str))):
            raise TypeError(
                f"variables: a pandas column of dtype {dtype} holds {type(v).__name__} values, "
                "which cannot be sent as data"
            )
    return {"values": data, "dtype": dtype}


def _index(index: Any) -> dict[str, Any] | None:
    if type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1:
        return None  # the default, rebuilt as it is
    if type(index).__name__ == "MultiIndex":
        raise TypeError("variables: a MultiIndex cannot be sent; reset_index() first")
    return _column(index)


def _series_data(series: Any) -> dict[str, Any]:
    name = series.name
    if not (name is None or isinstance(name, (str, int))):
        raise TypeError(f"variables: the Series name {name!r} must be a string or number")
    return {**_column(series), "name": name, "index": _index(series.index)}


def _frame_data(frame: Any) -> dict[str, Any]:
    columns = []
    for i, name in enumerate(frame.columns):
        if not isinstance(name, (str, int)):
            raise TypeError(f"variables: the column name {name!r} must be a string or number")
        columns.append({**_column(frame.iloc[:, i]), "name": name})
    return {"columns": columns, "index": _index(frame.index)}
