"""CLI commands. Each module maps command names to functions that fill in their parser
(`PARSERS`); npc_brain/cli.py lists the commands and imports only the one that runs."""
