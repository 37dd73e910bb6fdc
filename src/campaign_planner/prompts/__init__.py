"""Prompt templates, kept as Markdown files beside this module and loaded by name.

A prompt file may hold several templates, each under a ``## <section>`` heading (for example
``## system.en`` and ``## system.zh``); text before the first heading is a note for prompt authors and
is never sent. Placeholders use ``string.Template`` syntax (``$name``), so JSON braces need no escaping.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from string import Template

_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SECTION = re.compile(r"^## +(\S+)[ \t]*$", re.MULTILINE)


@cache
def load_prompt(name: str) -> str:
    """Return the text of ``prompts/<name>.md``.

    Refuses (ValueError) a name that is not a plain lowercase identifier, so no path can escape the
    package; raises FileNotFoundError naming the file where no such prompt exists.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"prompt name {name!r} must be lowercase letters, digits and '_'")
    resource = resources.files(__name__).joinpath(f"{name}.md")
    if not resource.is_file():
        raise FileNotFoundError(f"no prompt named {name!r} (expected campaign_planner/prompts/{name}.md)")
    return resource.read_text(encoding="utf-8")


@cache
def prompt_sections(name: str) -> dict[str, Template]:
    """Return the ``## <section>`` templates of ``prompts/<name>.md`` by section name.

    Raises ValueError where the file has no sections or repeats one.
    """
    text = load_prompt(name)
    headings = list(_SECTION.finditer(text))
    if not headings:
        raise ValueError(f"prompt {name!r} has no '## <section>' headings")
    sections: dict[str, Template] = {}
    for index, heading in enumerate(headings):
        end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
        key = heading.group(1)
        if key in sections:
            raise ValueError(f"prompt {name!r} repeats section {key!r}")
        sections[key] = Template(text[heading.end() : end].strip("\n").rstrip())
    return sections
