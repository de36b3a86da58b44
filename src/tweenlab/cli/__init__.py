"""The command line: thin commands that parse, call one service and print the result."""

from tweenlab.cli.main import cli, main

__all__ = ["cli", "main"]
