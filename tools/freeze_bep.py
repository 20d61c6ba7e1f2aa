#!/usr/bin/env python3
"""Copies the test.xml and test.log files a Bazel build event (BEP JSON) file names into a folder
and writes the BEP file again with its URIs pointing at the copies.

Bazel keeps one test.xml per test target and configuration (bazel-testlogs/...), so a later
`bazel test` of the same target overwrites what an earlier BEP file names: the DTLS tests run
again against another OpenSSL build (tools/older_openssl_tests.sh) would replace the results of
the first pass, and each other's. Frozen, every BEP file keeps its own results for
tools/count_tests.py.

Usage: freeze_bep.py BEP_IN BEP_OUT FOLDER   (BEP_OUT may be BEP_IN)
"""
import json
import os
import re
import shutil
import sys
import urllib.parse

FROZEN = ("test.xml", "test.log")


def local_path(uri):
    parsed = urllib.parse.urlparse(uri)
    return urllib.parse.unquote(parsed.path) if parsed.scheme == "file" else None


def freeze(bep_in, bep_out, folder):
    events = []
    with open(bep_in) as f:
        for line in f:
            events.append(json.loads(line))
    for event in events:
        eid = event.get("id", {}).get("testResult")
        if eid is None:
            continue
        # One folder per run, shard and attempt of a target: //tests:foo -> tests_foo/1_1_1.
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", eid["label"].lstrip("/@").replace(":", "/"))
        sub = os.path.join(folder, name, "%s_%s_%s" % (eid.get("run", 1), eid.get("shard", 1),
                                                       eid.get("attempt", 1)))
        for out in event.get("testResult", {}).get("testActionOutput", []):
            path = local_path(out.get("uri", ""))
            if out.get("name") not in FROZEN or path is None or not os.path.exists(path):
                continue
            os.makedirs(sub, exist_ok=True)
            copy = os.path.abspath(os.path.join(sub, out["name"]))
            shutil.copyfile(path, copy)
            out["uri"] = "file://" + urllib.parse.quote(copy)
    tmp = bep_out + ".tmp"
    with open(tmp, "w") as f:
        for event in events:
            f.write(json.dumps(event) + "\n")
    os.replace(tmp, bep_out)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    freeze(*sys.argv[1:])
