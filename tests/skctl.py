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
