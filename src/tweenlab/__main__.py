"""``python -m tweenlab``: the CLI."""

from tweenlab.cli.main import main

if __name__ == "__main__":
    main()
