"""Helpers to read a Dash component tree in tests: its visible text, and the components of a class."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dash.development.base_component import Component


def walk(node: Any) -> Iterator[Any]:
    """Every component and string of a tree, depth first."""
    yield node
    children = getattr(node, "children", None) if isinstance(node, Component) else None
    if isinstance(node, list | tuple):
        children = node
    if children is None:
        return
    for child in children if isinstance(children, list | tuple) else [children]:
        yield from walk(child)


def text(node: Any) -> str:
    """The visible text of a tree, pieces joined by single spaces."""
    return " ".join(str(n) for n in walk(node) if isinstance(n, str | int | float) and not isinstance(n, bool))


def find(node: Any, class_name: str) -> list[Component]:
    """Components whose className contains ``class_name``."""
    return [n for n in walk(node) if isinstance(n, Component)
            and class_name in (getattr(n, "className", None) or "").split()]
