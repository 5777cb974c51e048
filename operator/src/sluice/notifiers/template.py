"""Message templates: Jinja in a sandbox, because cluster users write them."""

from __future__ import annotations

from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATE_LIMIT = 4000  # characters of rendered text

# A missing value renders empty: one template serves events with and without evidence.
_ENV = ImmutableSandboxedEnvironment(undefined=jinja2.ChainableUndefined, autoescape=False)


class TemplateError(ValueError):
    """A template that cannot be rendered; the message says why."""


def render_text(template: str, variables: dict[str, Any]) -> str:
    """The rendered text, at most TEMPLATE_LIMIT characters."""
    try:
        text = _ENV.from_string(template).render(**variables)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template line {exc.lineno}: {exc.message}") from exc
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise TemplateError(f"template: {exc}") from exc
    return text.strip()[:TEMPLATE_LIMIT]
