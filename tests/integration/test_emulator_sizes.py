"""The emulator's faster value checks (chalicelib/local/emulator_sizes.py) answer exactly as
ministack's own: validation (and the canonical numbers it writes back), size, first bad number
or set, and nesting, for well-formed values of every type and for malformed ones, compared in
ministack's own environment."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from chalicelib.local import emulator

LOCAL = Path(emulator.__file__).resolve().parent

CHECK = r"""
import copy, json, random, sys
sys.path.insert(0, sys.argv[1])
from ministack.services import dynamodb as d
import emulator_sizes

def answers():
    def call(f, *a):
        try:
            return ("=", f(*a))
        except Exception as exc:
            return ("!", type(exc).__name__)
    out = []
    for v in copy.deepcopy(VALUES):  # validation makes numbers canonical in place
        out.append(call(lambda v: repr(d._validate_attribute_value("a", v)), v))
        out.append(repr(v))
        for depth in (31, 33):
            out.append(call(lambda v: repr(d._validate_attribute_value("a", v, depth)), v))
        out.append(call(d._attribute_value_size, v))
        out.append(call(d._attribute_value_error, v))
        for depth in (1, 30, 32, 33):
            out.append(call(d._nesting_exceeded, v, depth))
        out.append(call(d._item_size_bytes, {"id": {"S": "x"}, "value": v, "名前": v}))
        out.append(call(d._number_size_bytes, v.get("N") if isinstance(v, dict) else v))
    return out

rng = random.Random(7)
TEXTS = ["", "a", "ada@example.com", "王芳", "😀", "é" * 40, "x" * 300]
NUMBERS = ["0", "-0", "1", "-1.50", "00012.3400", "1e126", "9.99E+125", "1E-130", "1e-131",
           "+7", ".5", "5.", "abc", " 12", "1" * 39, "1" * 38, "-1e15", "1e9223372036854775808",
           "0" * 70 + "12"]

def value(depth):
    kind = rng.choice(["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "M", "L", "bad"])
    if kind == "S": return {"S": rng.choice(TEXTS)}
    if kind == "N": return {"N": rng.choice(NUMBERS)}
    if kind == "B": return {"B": rng.choice(["", "aGVsbG8=", "not base64!"])}
    if kind == "BOOL": return {"BOOL": rng.choice([True, False, "yes"])}
    if kind == "NULL": return {"NULL": rng.choice([True, False])}
    if kind == "SS": return {"SS": rng.sample(TEXTS, 3) + rng.choice([[], ["a"]])}
    if kind == "NS": return {"NS": rng.sample(NUMBERS, 3) + rng.choice([[], ["1", "1.0"]])}
    if kind == "BS": return {"BS": ["aGVsbG8=", rng.choice(["aGVsbG8=", "d29ybGQ="])]}
    if kind == "bad":
        return rng.choice([{}, {"S": 1}, {"S": "a", "N": "1"}, {"M": []}, {"L": {}}, {"Q": "x"},
                           {"N": 5}, {"L": ["x", 5, None]}, "x", 5, None, []])
    if depth > 3 or rng.random() < 0.3: return {"S": "leaf"}
    if kind == "M": return {"M": {rng.choice(TEXTS) + str(i): value(depth + 1) for i in range(3)}}
    return {"L": [value(depth + 1) for _ in range(3)]}

def deep(kind, levels):
    v = {"S": "bottom"}
    for _ in range(levels):
        v = {"M": {"k": v}} if kind == "M" else {"L": [v]}
    return v

VALUES = [value(0) for _ in range(3000)]
VALUES += [deep(k, n) for k in ("M", "L") for n in (30, 31, 32, 33, 40)]
VALUES += json.loads(sys.argv[2])
before = answers()
emulator_sizes.install()
after = answers()
differ = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
failed = sum(1 for a in before if a[0] == "!")
print(json.dumps({"values": len(VALUES), "differ": differ, "failed": failed}))
"""

# Items as the importer and the pipeline write them.
REAL = [
    {"M": {"name": {"S": "徐静"}, "company": {"S": "公司0"}, "city": {"S": "北京"}}},
    {"L": [{"S": "city"}, {"S": "company"}, {"N": "2"}]},
    {"M": {"import": {"S": "4ab1a2dd0207aaba8f6de2fd"}, "row": {"N": "2"}, "ok": {"BOOL": True}}},
    {"SS": ["展会", "VIP"]},
]


def test_every_answer_is_ministacks() -> None:
    done = subprocess.run(
        [str(emulator.python()), "-c", CHECK, str(LOCAL), json.dumps(REAL)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["values"] > 3000
    assert result["failed"] > 0  # malformed values were among them, and raised the same
    assert result["differ"] == []
