"""The `npc-brain` command line as a designer meets it: help, option errors, verb errors."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from npc_brain import cli
from npc_brain.npc.actions import VOCABULARY
from npc_brain.npc.state import NPCState

REPO = Path(__file__).resolve().parents[1]


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(argv))
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_top_level_help_lists_every_command_for_users(capsys) -> None:
    text = _help(capsys)
    for name in cli.COMMANDS:
        assert re.search(rf"^\s+{re.escape(name)}\b", text, re.MULTILINE), name
    assert "npc-brain demo" in text and "install-addon PATH" in text
    assert "npc_brain/commands" not in text and "sub-command" not in text


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_option_says_what_it_does_and_its_default(command: str) -> None:
    parser = cli.command_parser(cli.build_parser(command), command)
    assert parser.description and "." in parser.description
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{command} {action.dest} has no help"
        if action.option_strings:
            assert "default" in action.help or action.required, (
                f"{command} {action.option_strings[0]}: {action.help!r} names no default"
            )


def test_commands_that_never_run_the_model_do_not_import_torch() -> None:
    # A separate interpreter, so nothing this test session imported counts.
    probe = (
        "import sys\nfrom npc_brain import cli\n"
        "for argv in (['--help'], ['ask', '--help'], ['install-addon', '--help'],"
        " ['addon-zip', '--help'], ['demo', '--help'], ['build-sidecar', '--help'],"
        " ['broker', '--help']):\n"
        "    try:\n        cli.main(argv)\n    except SystemExit:\n        pass\n"
        "print('torch' in sys.modules, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert proc.stderr.strip() == "False", proc.stderr


def test_ask_help_shows_a_valid_state_and_every_verb(capsys) -> None:
    text = _help(capsys, "ask")
    example = text[text.index("{") : text.index("}\n") + 1]
    state = NPCState.model_validate(json.loads(example))
    assert state.perception and state.perception[0].kind == "animal"
    verbs = text[text.index("Verbs for --actions:") :]
    for verb in VOCABULARY:
        assert re.search(rf"\b{verb}\b", verbs), verb
    assert "--alias strike=attack" in text


def test_unknown_options_are_reported_as_unknown_never_guessed(capsys) -> None:
    err = _error(capsys, "ask", "npc.json", "--actions", "flee", "--temp", "0.5")
    assert "npc-brain ask: error: unknown option --temp (did you mean --temperature?)" in err
    err = _error(capsys, "serve", "--quite")
    assert "npc-brain serve: error: unknown option --quite (did you mean --quiet?)" in err
    err = _error(capsys, "install-addon", "game", "--force")
    assert "unknown option --force" in err
    err = _error(capsys, "ask", "a.json", "b.json", "--actions", "flee")
    assert "unexpected argument(s): b.json" in err
    assert "invalid choice: 'serv'" in _error(capsys, "serv")


def test_unknown_actions_list_the_valid_verbs(tmp_path: Path, capsys) -> None:
    state = tmp_path / "npc.json"
    state.write_text(json.dumps({"id": "1", "name": "Bram"}))
    # Checked before anything is sent: no sidecar runs at this address.
    argv = ["ask", str(state), "--address", "tcp://127.0.0.1:9", "--timeout", "0.2"]
    assert cli.main([*argv, "--actions", "flee", "dance"]) == 2
    err = capsys.readouterr().err
    assert "unknown action 'dance'" in err and ", ".join(VOCABULARY) in err
    assert cli.main([*argv, "--actions", "strike", "--alias", "strike=smite"]) == 2
    err = capsys.readouterr().err
    assert "unknown verb 'smite'" in err and ", ".join(VOCABULARY) in err


def test_version(capsys) -> None:
    from npc_brain import __version__

    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"npc-brain {__version__}"
