"""The one `flask discuss ...` group, for publishers and operators.

Each command parses its arguments and calls one domain function; the work lives there. The
commands are split by topic (core: sites, staff, privacy, scoring; portability: import, export,
privacy requests; webhooks; model: check the toxicity model) but register on the same group.
"""
from discuss.cli import core, portability, webhooks  # noqa: F401  (commands register on import)
from discuss.cli.group import discuss_cli

__all__ = ["discuss_cli"]
