"""docs/configuration.md, written from the config model so the reference cannot drift.

`python -m connector.config_reference > docs/configuration.md` (or `make docs`); a test
fails when the committed file differs from what this prints.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from connector.config import FLOW_NEEDS, AuthSettings, Config

_INTRO = """\
# Configuration reference

sfsink reads one YAML file (`sfsink run --config FILE`, `sfsink check --config FILE`).
Every key below can be overridden by an environment variable: `SFSINK_` and the key path
in capitals with `__` between levels, list items by their index
(`SFSINK_BATCHING__MAX_RECORDS=500`, `SFSINK_ROUTES__0__SOBJECT=Lead`); under
`kafka.consumer` single underscores become dots
(`SFSINK_KAFKA__CONSUMER__SASL_PASSWORD` sets `sasl.password`). A secret (`secret` type)
never appears in logs, metrics or errors; each can also be read from a file (its `_file`
key) so it never sits in the YAML. Unknown keys are errors, so a misspelt key fails
`sfsink check` instead of being ignored.

Examples: [deploy/examples/production.yaml](../deploy/examples/production.yaml) (commented),
[deploy/local/sfsink.yaml](../deploy/local/sfsink.yaml) (the local stack).

This file is generated from `connector/config.py` by `make docs`; do not edit it by hand.
"""

_SCALARS = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path"}
_BOUNDS = (
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "≤"),
    (annotated_types.MinLen, "min_length", "at least"),
)


def render() -> str:
    """The whole reference, as Markdown."""
    parts = [_INTRO]
    for name, field in Config.model_fields.items():
        parts.extend(_section(name, field))
    return "".join(parts)


def _section(key: str, field: FieldInfo) -> list[str]:
    """A heading, the model's docstring, a table of its keys, then its nested sections."""
    model = _model_of(field.annotation)
    if model is None:
        raise TypeError(f"{key} is not a section")
    listed = get_origin(field.annotation) is tuple
    key = f"{key}[]" if listed else key
    state = "required" if field.is_required() else "optional"
    heading = "#" * (key.count(".") + 2)
    parts = [
        f"\n{heading} `{key}` ({state}{', a list' if listed else ''})\n\n{_doc(model)}\n\n",
        "| key | type | default | meaning |\n| --- | --- | --- | --- |\n",
    ]
    nested = []
    for sub, info in model.model_fields.items():
        parts.append(_row(f"{key}.{sub}", info))
        if _model_of(info.annotation) is not None:
            nested.extend(_section(f"{key}.{sub}", info))
    if model is AuthSettings:
        parts.append("\nWhat each flow needs (a secret or its `_file`):\n\n")
        parts.extend(f"- `{flow}`: {', '.join(needs)}\n" for flow, needs in FLOW_NEEDS.items())
    return parts + nested


def _model_of(annotation: Any) -> type[BaseModel] | None:  # noqa: ANN401 - any annotation
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _doc(model: type[BaseModel]) -> str:
    return " ".join((model.__doc__ or "").split())


def _row(key: str, field: FieldInfo) -> str:
    if not field.description:
        raise ValueError(f"{key} has no description in connector/config.py")
    bounds = ", ".join(
        f"{sign} {getattr(item, attr)}"
        for item in field.metadata
        for kind, attr, sign in _BOUNDS
        if isinstance(item, kind)
    )
    meaning = f"{field.description} ({bounds})" if bounds else field.description
    return f"| `{key}` | {_type(field.annotation)} | {_default(field)} | {meaning} |\n"


def _type(annotation: Any) -> str:  # noqa: ANN401 - any annotation, rendered as words
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (Union, types.UnionType):  # None shows as the default "—", not here
        return " or ".join(_type(arg) for arg in args if arg is not type(None))
    if origin is Literal:
        return _one_of(args)
    if origin is tuple:
        return f"list of {_type(args[0])}"
    if origin is dict:
        nullable = " or null" if type(None) in get_args(args[1]) else ""
        return f"mapping of {_type(args[0])} to {_type(args[1])}{nullable}"
    return _plain_type(annotation)


def _plain_type(annotation: type) -> str:
    if issubclass(annotation, Enum):
        return _one_of([member.value for member in annotation])
    if issubclass(annotation, BaseModel):
        return "mapping"
    if annotation is SecretStr:
        return "secret"
    return _SCALARS[annotation]


def _one_of(values: Sequence[object]) -> str:
    return "one of " + ", ".join(f"`{value}`" for value in values)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.default
    if value is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    if value is None or value in ({}, ()):
        return "—"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def main() -> int:
    """Print the reference."""
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
