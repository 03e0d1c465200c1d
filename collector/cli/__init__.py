"""The `footfall` command."""

from collector.cli.commands import main

__all__ = ["main"]
