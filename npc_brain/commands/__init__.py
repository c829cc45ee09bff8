"""CLI sub-commands. Each module exposes `register(subparsers)`; cli.py lists them."""
