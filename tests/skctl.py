"""skctl — running the built skontoctl from a test, without any server.

    r = run("quote", "--terms", "2/10,n/30", ...)    # CompletedProcess, text
    q = run_json("quote", "--terms", ...)             # parsed --json output

The binary is $SK_BUILD_DIR/bin/skontoctl (ctest sets SK_BUILD_DIR). For the
verbs that read Redis, use harness.Stack.ctl, which points them at its server.
"""
import json
import os
import subprocess

BIN = os.path.join(os.path.abspath(os.environ.get("SK_BUILD_DIR", "build")), "bin", "skontoctl")


def run(verb, *args):
    return subprocess.run([BIN, verb, *args], capture_output=True, text=True, timeout=60)


def run_json(verb, *args):
    """The verb's --json output; AssertionError (with its stderr) if it failed."""
    r = run(verb, *args, "--json")
    if r.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (verb, r.returncode, r.stderr))
    return json.loads(r.stdout)


def assert_rejected(test, verb, args, *expect):
    """Runs VERB ARGS and asserts invalid input as a user sees it: exit status
    2, nothing on stdout, exactly one line on stderr starting "skontoctl VERB: "
    and containing every string in expect. Returns that line."""
    r = run(verb, *args)
    test.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
    test.assertEqual(r.stdout, "")
    lines = r.stderr.splitlines()
    test.assertEqual(len(lines), 1, r.stderr)
    test.assertTrue(lines[0].startswith("skontoctl %s: " % verb), lines[0])
    for e in expect:
        test.assertIn(e, lines[0])
    return lines[0]
