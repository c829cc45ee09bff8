"""The GDScript harness in the real runtime notices every way a test can go wrong."""

from __future__ import annotations

from godot_harness import assert_passed, run_gdscript_test

CLASSES = {
    "res://tests/generated/harness_base.gd": (
        b'class_name HarnessBase\nextends Node\n\n\nfunc greet() -> String:\n\treturn "base"\n'
    ),
    "res://tests/generated/harness_derived.gd": (
        b'class_name HarnessDerived\nextends "harness_base.gd"\n\n\n'
        b'func greet() -> String:\n\treturn "derived of " + super()\n'
    ),
}


def test_pack_classes_and_user_args_reach_the_script() -> None:
    result = run_gdscript_test(
        "test_harness_features.gd", extra_files=CLASSES, user_args=["marker=42"]
    )
    assert_passed(result)


def test_failed_checks_and_silent_runtime_errors_fail_the_run() -> None:
    result = run_gdscript_test("test_harness_fails.gd")
    assert result.exit_code == 1 and not result.ok
    fails = [line for line in result.prints if line.startswith("FAIL")]
    assert any("an int is not a float" in line for line in fails), result.report()
    assert any("stopped before its end" in line for line in fails), result.report()


def test_parse_errors_fail_the_run() -> None:
    source = b"extends Node\n\nfunc run(check) -> void:\n\tvar x :=\n"
    broken = {"res://tests/generated/broken.gd": source}
    result = run_gdscript_test("res://tests/generated/broken.gd", extra_files=broken)
    assert not result.ok
    assert any("Parse Error" in line for line in result.script_errors), result.report()
    assert result.exit_code == 2


NEVER_QUITS = b"""extends Node

const Check := preload("res://tests/godot/check.gd")


func run(check: Check) -> void:
\tcheck.section("waits for an hour")
\tawait Engine.get_main_loop().create_timer(3600.0).timeout
\tcheck.done()
"""


def test_a_script_that_never_quits_times_out() -> None:
    hangs = {"res://tests/generated/hangs.gd": NEVER_QUITS}
    result = run_gdscript_test("res://tests/generated/hangs.gd", extra_files=hangs, timeout_s=20)
    assert result.startup_failure is None, result.report()
    assert result.timed_out and result.exit_code is None and not result.ok
