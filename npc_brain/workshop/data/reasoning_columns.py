"""Digit-level working written as STEP lines: the school algorithms, one column per step.

Every column step restates what is left of the operands (the numbers with the finished
columns stripped off the right), so the digits to combine are always the last digits of
numbers written in the same line, and it carries the result "so far", so the final
answer is a copy of the last partial result rather than a reversal of written digits.
"""

from __future__ import annotations


def _digit(s: str) -> int:
    return int(s[-1]) if s else 0


def _rest(s: str) -> str:
    return s or "0"


def _final_carry(carry: int, so_far: str) -> str:
    """Once both numbers are used up, a leftover carry is written as the top digit."""
    return f"carry {carry}: write {carry}, so far {carry}{so_far}"


def add_steps(a: int, b: int) -> list[str]:
    """`a + b` for a, b >= 0, right to left with carries; ends with `a + b = sum`."""
    if a < 0 or b < 0:
        raise ValueError(f"add_steps needs non-negative operands, got {a} and {b}")
    sa, sb, carry, so_far = str(a), str(b), 0, ""
    steps = []
    while sa or sb:
        da, db = _digit(sa), _digit(sb)
        total = da + db + carry
        head = f"{_rest(sa)} + {_rest(sb)}" + (f" carry {carry}" if carry else "")
        calc = f"{da} + {db}" + (f" + {carry}" if carry else "") + f" = {total}"
        carry = total // 10
        so_far = str(total % 10) + so_far
        tail = f"write {total % 10}" + (f" carry {carry}" if carry else "")
        steps.append(f"{head}: {calc}, {tail}, so far {so_far}")
        sa, sb = sa[:-1], sb[:-1]
    if carry:
        steps.append(_final_carry(carry, so_far))
    steps.append(f"{a} + {b} = {a + b}")
    return steps


def _sub_columns(a: int, b: int) -> list[str]:
    sa, sb, borrow, so_far = str(a), str(b), 0, ""
    steps = []
    while sa:
        da, db = _digit(sa), _digit(sb)
        head = f"{sa} - {_rest(sb)}" + (" borrow 1" if borrow else "")
        top = da if da - borrow >= db else da + 10
        result = top - db - borrow
        calc = f"{top} - {db}" + (" - 1" if borrow else "") + f" = {result}"
        borrow = 1 if top > da else 0
        so_far = str(result) + so_far
        tail = f"write {result}" + (" borrow 1" if borrow else "")
        steps.append(f"{head}: {calc}, {tail}, so far {so_far}")
        sa, sb = sa[:-1], sb[:-1]
    return steps


def sub_steps(a: int, b: int) -> list[str]:
    """`a - b` for a, b >= 0 with borrows; a < b is rewritten as -(b - a) first."""
    if a < 0 or b < 0:
        raise ValueError(f"sub_steps needs non-negative operands, got {a} and {b}")
    if a >= b:
        return [*_sub_columns(a, b), f"{a} - {b} = {a - b}"]
    return [
        f"{a} < {b}, so {a} - {b} = -({b} - {a})",
        *_sub_columns(b, a),
        f"{b} - {a} = {b - a}",
        f"{a} - {b} = {a - b}",
    ]


def mul_steps(a: int, d: int) -> list[str]:
    """`a x d` for a >= 0 and a single digit d, column by column with carries."""
    if a < 0 or not 0 <= d <= 9:
        raise ValueError(f"mul_steps needs a >= 0 and a digit 0-9, got {a} and {d}")
    sa, carry, so_far = str(a), 0, ""
    steps = []
    while sa:
        da = _digit(sa)
        product = da * d
        total = product + carry
        head = f"{_rest(sa)} x {d}" + (f" carry {carry}" if carry else "")
        calc = f"{da} x {d} = {product}" + (f", {product} + {carry} = {total}" if carry else "")
        carry = total // 10
        so_far = str(total % 10) + so_far
        tail = f"write {total % 10}" + (f" carry {carry}" if carry else "")
        steps.append(f"{head}: {calc}, {tail}, so far {so_far}")
        sa = sa[:-1]
    if carry:
        steps.append(_final_carry(carry, so_far))
    steps.append(f"{a} x {d} = {a * d}")
    return steps


def op_steps(a: int, op: str, b: int) -> tuple[list[str], int]:
    """Steps and result for one binary operation; `x` needs a single-digit right operand."""
    if op == "+":
        return add_steps(a, b), a + b
    if op == "-":
        return sub_steps(a, b), a - b
    if op == "x":
        return mul_steps(a, b), a * b
    raise ValueError(f"unknown operator {op!r}")


def digits_word(n: int) -> str:
    count = len(str(abs(n)))
    return f"{count} digit" if count == 1 else f"{count} digits"


def compare_steps(a: int, b: int) -> list[str]:
    """Compare a != b (non-negative): digit counts, then digits left to right, one per step.

    The last step states the relation as `a < b` or `a > b`.
    """
    if a == b or a < 0 or b < 0:
        raise ValueError(f"compare_steps needs two different non-negative numbers, got {a}, {b}")
    sa, sb = str(a), str(b)
    rel = "<" if a < b else ">"
    if len(sa) != len(sb):
        more = "more" if len(sa) > len(sb) else "fewer"
        return [
            f"{a} has {digits_word(a)}, {b} has {digits_word(b)}",
            f"{a} has {more} digits, so {a} {rel} {b}",
        ]
    steps = [f"{a} and {b} both have {digits_word(a)}"]
    while sa[0] == sb[0]:
        steps.append(f"{sa} vs {sb}: {sa[0]} = {sb[0]}")
        sa, sb = sa[1:], sb[1:]
    steps.append(f"{sa} vs {sb}: {sa[0]} {rel} {sb[0]}, so {a} {rel} {b}")
    return steps
