"""Dash HTML components written directly as the JSON the browser receives, for long lists of small elements.

A ``dash.html`` component checks its arguments when it is built, and Dash turns it into
``{"type": "Td", "namespace": "dash_html_components", "props": {...}}`` when it sends the answer. For a table
of a few hundred cells, building and converting the components cost more than the rest of the callback.
:func:`element` writes that JSON directly: Dash sends a callback's output as it is, and the browser renders it
as the component it describes. Nothing checks the props here: the unit tests rebuild every element as its
``dash.html`` component, which refuses an unknown prop, and compare both JSONs.
"""

from __future__ import annotations

from typing import Any, Final

NAMESPACE: Final = "dash_html_components"  # the namespace ``dash.html`` components carry in their JSON

Element = dict[str, Any]


def element(tag: str, children: Any = None, **props: Any) -> Element:
    """The JSON of ``dash.html.<tag>(children, **props)``.

    ``children``: a string, a number, an :class:`Element`, a ``dash`` component, or a list of them (None, sent as
    null, as a component without children does).
    """
    return {"type": tag, "namespace": NAMESPACE, "props": {"children": children, **props}}
