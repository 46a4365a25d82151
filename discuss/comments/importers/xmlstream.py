"""Streaming XML for the Disqus and WordPress readers: defusedxml's iterparse (no DTDs, no
entity expansion, no external entities), yielding each element of interest once it is
complete and then clearing it, so memory stays flat on a multi-gigabyte export."""
from __future__ import annotations

from typing import IO, Callable, Iterator
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from discuss.comments.importers.base import ImportFileError


def stream_elements(stream: IO[bytes], root_tag: str, wanted: dict[str, int], what: str,
                    name: Callable[[str], str] = lambda tag: tag) -> Iterator[tuple[str, Element]]:
    """Yield (name, element) for elements whose ``name(tag)`` is in ``wanted`` at the depth given
    there (root = 0), once complete.

    Raises ImportFileError naming the line and column of malformed or truncated XML, or an
    unexpected root element.
    """
    stack: list[Element] = []
    deepest = max(wanted.values())
    try:
        for event, elem in iterparse(stream, events=("start", "end"), forbid_dtd=True):
            if event == "start":
                if not stack and elem.tag != root_tag:
                    raise ImportFileError(f"not a {what} file: the root element is <{_local(elem.tag)}>, "
                                          f"expected <{_local(root_tag)}>")
                stack.append(elem)
                continue
            stack.pop()
            depth = len(stack)
            tag = name(elem.tag)
            if wanted.get(tag) == depth:
                yield tag, elem
            if stack and depth <= deepest:
                stack[-1].remove(elem)  # finished: drop it (and all it held) from the tree
    except ParseError as err:
        line, column = getattr(err, "position", (None, None))
        raise ImportFileError(f"malformed or truncated {what} XML at line {line}, column {column}: "
                              f"{_reason(err)}") from None
    except DefusedXmlException as err:
        raise ImportFileError(f"refused {what} XML: {type(err).__name__} (DTDs and entities are not "
                              f"accepted): {err}") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _reason(err: ParseError) -> str:
    return str(err).split(":", 1)[0]


def text(elem: Element, tag: str) -> str | None:
    found = elem.find(tag)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def flag(elem: Element, tag: str, default: bool = False) -> bool:
    value = text(elem, tag)
    if value is None or value == "":
        return default
    return value.lower() in ("true", "1", "yes")
