"""Helpers to read a Dash component tree in tests: its visible text, and the components of a class.

A tree may hold components and their JSON written directly (:mod:`dashboard.plain_html`); :func:`as_component`
rebuilds such JSON as the ``dash.html`` components it stands for, which refuse an unknown prop.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dash import html
from dash.development.base_component import Component

from dashboard.plain_html import NAMESPACE


def is_element(node: Any) -> bool:
    """Whether ``node`` is a component's JSON (``{"type", "namespace", "props"}``) rather than a component."""
    return isinstance(node, dict) and set(node) == {"type", "namespace", "props"}


def walk(node: Any) -> Iterator[Any]:
    """Every component (or component JSON) and string of a tree, depth first."""
    yield node
    children = getattr(node, "children", None) if isinstance(node, Component) else None
    if is_element(node):
        children = node["props"].get("children")
    if isinstance(node, list | tuple):
        children = node
    if children is None:
        return
    for child in children if isinstance(children, list | tuple) else [children]:
        yield from walk(child)


def text(node: Any) -> str:
    """The visible text of a tree, pieces joined by single spaces."""
    return " ".join(str(n) for n in walk(node) if isinstance(n, str | int | float) and not isinstance(n, bool))


def nodes(node: Any, kind: type[Component]) -> list[Any]:
    """The components of class ``kind`` in a tree, depth first (typed loosely: their props are read as attributes)."""
    return [n for n in walk(node) if isinstance(n, kind)]


def find(node: Any, class_name: str) -> list[Component]:
    """Components whose className contains ``class_name``."""
    return [n for n in walk(node) if isinstance(n, Component)
            and class_name in (getattr(n, "className", None) or "").split()]


def as_component(node: Any) -> Any:
    """A tree with every component JSON rebuilt as its ``dash.html`` component (an unknown prop, tag or namespace
    raises: what building the component would have refused)."""
    if isinstance(node, list | tuple):
        return [as_component(child) for child in node]
    if not is_element(node):
        return node
    assert node["namespace"] == NAMESPACE, node["namespace"]
    props = dict(node["props"])
    if "children" in props:
        props["children"] = as_component(props["children"])
    return getattr(html, node["type"])(**props)
