#!/usr/bin/env python3
"""Writes what the real OPA's `sprintf` gives for a fixed sample of formats and values:
the fixture crates/rampart-policy/tests/fixtures/sprintf_opa.json, which the test
`sprintf::tests::formats_give_what_opa_gives` (crates/rampart-policy/src/sprintf.rs)
compares Rampart's `sprintf` with, so that the crate's tests need neither Python nor OPA.

Runs OPA in-process through PyPI's opa-golib-python-bindings (OPA's Go library behind
ctypes; scripts/install-test-deps.sh unpacks it into target/test-deps/opa). Regenerate
after changing the sample, or to check a newer OPA:

    python3 scripts/sprintf_opa_fixture.py [--opa DIR]   # DIR: the unpacked bindings

The sample: a hand-written list (the fixture policies' formats, Go's special cases), then
cases generated from a fixed seed — one to three verbs with flags, widths, precisions,
`*` and argument indexes, literal text between them, arguments drawn mostly from the
values each verb formats (negative numbers, halves, large and tiny floats, big integers,
Unicode strings, collections) and now and then from any pool, with one argument more or
fewer at times. The value pools avoid what Rampart cannot reproduce (see the module
comment of sprintf.rs): numbers written with an exponent and no point (`1e3`), numbers
in collections whose source text differs from Go's JSON encoding (`3.0`), whole numbers
beyond 64 bits written in Rego with an exponent (`1.5e300`: regorus holds the integer, OPA
a float; the pools take such floats from the input), `%p` and `%w` of integers beyond
64 bits.

Each case is [format, arguments (a Rego array expression over `input`), OPA's string or
null when OPA leaves the call undefined or fails]."""

import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "crates", "rampart-policy", "tests", "fixtures", "sprintf_opa.json")
SEED = 20261202
GENERATED_CASES = 500

INPUT = {
    "float": 12.34567, "whole_float": 3.0, "negative_float": -2.5, "half": 0.5,
    "int": 42, "negative": -7, "zero": 0,
    "big": 18_000_000_000_000_000_000, "huge": 1.5e300, "small": 1.5e-7,
    "max": 1.7976931348623157e308, "negative_max": -1.7976931348623157e308,
    "text": "héllo \"wörld\"\n\t\u0001\u007f\u200b😀",
    "tags": {"b": [1, "x\ny"], "a": None, "c": {"d": True}},
    "list": [1.5, "two", [3], {"four": 4}],
}

HANDWRITTEN = [
    ("%s would be replaced (%s)", '["aws_s3_bucket.b", "tags"]'),
    ("%s keeps backups %d day(s)", '["db", 7]'),
    ("%d resource(s) deleted: %s", '[2, ["a", "b"]]'),
    ("rises by %.2f USD", "[input.float]"),
    ("rises by %.2f USD", "[input.whole_float]"),
    ("rises by %.2f USD", "[12.5 * 3]"),
    ("(%02d:%02d UTC)", "[7, 5]"),
    ("%d-%02d-%02d", "[2026, 12, 1]"),
    ("the name %q is not snake_case", '["My Bucket"]'),
    ("(0x%x)", "[255]"),
    ("%s opens port %d to %s", '["sg", 22, ["0.0.0.0/0"]]'),
    ("%v", "[input.tags]"),
    ("%v", "[input.list]"),
    ("%s|%v", "[input.text, [input.text]]"),
    ("%v %v %v", '[null, true, {1, "b", [2]}]'),
    ("%s|%v|%v", "[set(), {}, []]"),
    ("%d|%x|%b|%o", "[-5, -255, -5, -8]"),
    ("%-5s|%+d|% d|%#x|%t", '["a", 1, 2, 3, true]'),
    ("%5.2f|%-8s|%+d|%08.3f", '[3.14159, "ab", 5, -3.14159]'),
    ("%.2f %.2f %.0f %.0f %.1f %.2f", "[0.125, 0.375, 2.5, 0.5, 0.25, 1.005]"),
    ("%s|%v|%d", "[5, 5, 5]"),
    ("%d %d", "[1]"),
    ("%d", '[1, "a", 2.5, [1]]'),
    ("%", "[]"),
    ("%5", "[1]"),
    ("%.", "[1]"),
    ("%!|%é", "[1, 2]"),
    ("100%% %s", '["sure"]'),
    ("%[2]d %[1]s %[2]v", '["a", 5]'),
    ("%[3]d|%[0]d|%[x]d|%[1]", "[1, 2]"),
    ("%*d|%-*d|%.*f|%*d|%.*d", '[5, 1, 5, 2, 2, 3.14159, "a", 3, -1, 4]'),
    ("%T %T %T %T %T", '[1, 1.5, "a", [1], input.big]'),
    ("%p|%p", '[1, "a"]'),
    ("%w|%#w|%+w", '[1, "a", 2]'),
    ("%c%c%c|%c|%c|%c", "[72, 233, 128512, -1, 55296, 1114112]"),
    ("%q|%+q|%q|%#q|%q|%+q", '["é\\n", "é😀", "\\u0001\\u007f", "a`b", "\\u0085\\u00a0\\u00ad\\ufeff", "x"]'),
    ("%q|%q|%+q|%q|%05q", "[39, 34, 233, 128512, 97]"),
    ("%U|%#U|%#U|%#U|%.6U|%-8U|", "[65, 233, 10, 128512, 65, 65]"),
    ("%x|%X|%o|%O|%b|%#o|%#x|%08d|%+d|% d|%.25d|%-25d|", "[input.big, input.big, input.big, input.big, input.big, input.big, input.big, input.big, input.big, input.big, input.big, -18000000000000000000]"),
    ("%e|%f|%c|%s", "[input.big, input.big, input.big, input.big]"),
    ("%v|%g|%e|%f|%.3e|%G", "[input.huge, input.huge, input.small, input.small, input.float, 1.5e-10]"),
    ("%g|%g|%.3g|%g|%.5g|%#g|%#.3x|%#e|%#.0f|%#v", "[0.0001, 100000.5, 1234.5, 1234567.5, 1.5, 1.5, 1.5, 1.5, 2.5, 1.5]"),
    ("%x|%X|%b|%.3x|%x|%.0x|%x", "[1.5, -1.5, 1.5, 3.14159, 0.1, 1.5, input.small]"),
    ("%.20f|%f|%.3f", "[0.1, input.huge, -0.0005]"),
    ("%F|%E|%G", "[1.5, 1.5, 1.5e-10]"),
    ("%5.1s|%.2v|%8v|%-8v|%5t", '["héllo", [1, 2], {"a": 1}, null, "x"]'),
    ("%x|% x|%#x|%# X|%.1x|%8x|%-8X|", '["hé", "ab", "ab", "ab", "ab", "ab", "ab"]'),
    ("%05s|%-05s|%0-5d|%05c|%05U|%05x|%05t", '["ab", "ab", 3, 65, 65, "ab", true]'),
    ("%.0d|%5.0d|%.3d|%+.3d|%08.3d|%#o|%#.3o|%#b|%O", "[0, 0, 7, 7, 7, 0, 8, 5, -8]"),
    ("%d|%v|%x|%d", "[9223372036854775807, -9223372036854775808, -9223372036854775808, 123456789012345678901234567890]"),
    ("no verbs", "[]"),
    ("", "[]"),
    ("%s", "[input.missing]"),
    ("%s", "input.tags"),
]

VERBS = "svdifFeEgGxXobOqtcUT%" + "vsdf"  # the common ones twice as likely
FLAG_SETS = ["", "", "", "-", "+", "#", "0", " ", "-0", "+0", "# ", "+ ", "-#", "0+"]
WIDTHS = ["", "", "", "1", "5", "8", "12", "*"]
PRECISIONS = ["", "", "", ".", ".0", ".1", ".2", ".3", ".8", ".20", ".*"]

INTEGERS = ["0", "1", "-1", "5", "-5", "42", "255", "-255", "65", "233", "128512",
            "9223372036854775807", "-9223372036854775808", "input.int", "input.negative",
            "input.zero", "input.whole_float", "3.0", "-0.0"]
BIG_INTEGERS = ["input.big", "-18000000000000000000", "123456789012345678901234567890"]
FLOATS = ["0.5", "-0.5", "0.125", "0.375", "2.5", "-2.5", "1.005", "3.14159", "-3.14159",
          "12345.678", "0.1", "input.max", "2.5e-3", "1.5e-10", "input.float", "input.half",
          "input.negative_float", "input.huge", "input.small", "1234567.5", "100000.5",
          "0.000125", "-0.0005", "999.9999", "input.negative_max", "4.9e-324"]
STRINGS = ['""', '"str"', '"héllo"', '"a\\"b\\\\c"', '"tab\\there"', '"😀x"',
           '"\\u0001\\u007f"', '"a`b"', '"line\\nbreak"', "input.text", '"ÀÉÎõü"', '"日本語"']
OTHERS = ["true", "false", "null", '[1, "a", null]', "[]", "{}",
          '{"b": [1, "x\\ny"], "a": null}', "{1, 2}", '{"a", "b"}', "set()",
          "[1.5, -0.25]", "input.tags", "input.list", '[["é"], {"k": "😀"}]']


def pool_for(verb, rng):
    if rng.randrange(6) == 0:
        return rng.choice([INTEGERS, BIG_INTEGERS, FLOATS, STRINGS, OTHERS])
    if verb in "dboOxXcU":
        return rng.choice([INTEGERS, INTEGERS, INTEGERS, BIG_INTEGERS, STRINGS])
    if verb in "eEfFgG":
        return rng.choice([FLOATS, FLOATS, FLOATS, INTEGERS])
    if verb in "sq":
        return rng.choice([STRINGS, STRINGS, OTHERS, INTEGERS])
    return rng.choice([INTEGERS, BIG_INTEGERS, FLOATS, STRINGS, OTHERS])


def generated(rng):
    cases = []
    for _ in range(GENERATED_CASES):
        format_text = ""
        arguments = []
        for position in range(1 + rng.randrange(3)):
            if position or rng.randrange(3) == 0:
                format_text += rng.choice(["", " ", "|", "x=", "é ", "\n", "[", "%%"])
            verb = rng.choice(VERBS)
            width = rng.choice(WIDTHS)
            precision = rng.choice(PRECISIONS)
            index = "[%d]" % (1 + rng.randrange(3)) if rng.randrange(15) == 0 else ""
            format_text += "%" + rng.choice(FLAG_SETS) + index + width + precision + verb
            if width == "*":
                arguments.append(rng.choice(["5", "-5", "12", "0", "1000001", '"w"']))
            if precision == ".*":
                arguments.append(rng.choice(["2", "0", "-1", "7", '"p"']))
            if verb != "%":
                arguments.append(rng.choice(pool_for(verb, rng)))
        extra = rng.randrange(12)
        if extra == 0:
            arguments.append(rng.choice(INTEGERS + STRINGS))
        elif extra == 1 and arguments:
            arguments.pop()
        cases.append((format_text, "[" + ", ".join(arguments) + "]"))
    return cases


def main(argv):
    opa_dir = os.path.join(HERE, "..", "target", "test-deps", "opa")
    if len(argv) == 2 and argv[0] == "--opa":
        opa_dir = argv[1]
    sys.path.insert(0, opa_dir)
    from opa_bindings import OpaEngine, OpaUndefinedError  # noqa: E402

    cases = HANDWRITTEN + generated(random.Random(SEED))
    source = "package t\n\n" + "".join(
        f"r{index} := sprintf({json.dumps(format_text)}, {arguments})\n"
        for index, (format_text, arguments) in enumerate(cases)
    )
    engine = OpaEngine()
    engine.add_policy("t.rego", source)
    results = []
    for index, (format_text, arguments) in enumerate(cases):
        try:
            result = engine.eval_document(f"t.r{index}", INPUT)
        except OpaUndefinedError:
            result = None
        except Exception as error:  # OPA's builtin error: undefined in non-strict mode
            print(f"OPA refuses sprintf({format_text!r}, {arguments}): {error}", file=sys.stderr)
            result = None
        results.append([format_text, arguments, result])
    os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
    with open(FIXTURE, "w", encoding="utf-8") as handle:
        json.dump({"input": INPUT, "cases": results}, handle, ensure_ascii=False, indent=0)
        handle.write("\n")
    print(f"{len(results)} cases written to {os.path.relpath(FIXTURE)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
