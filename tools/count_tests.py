#!/usr/bin/env python3
"""Counts test cases from Bazel build event (BEP JSON) files and the test.xml files they name.

Prints each failing case, then a last line "N passed, M failed". A test target that produced no
test.xml (it failed to build, or timed out before writing one) counts as one failed case.
Exits 1 when anything failed or when no test ran at all.
"""
import json
import sys
import urllib.parse
import xml.etree.ElementTree as ET


def cases(xml_path):
    """Yields (name, passed) per <testcase> in a test.xml."""
    root = ET.parse(xml_path).getroot()
    for tc in root.iter("testcase"):
        if tc.get("status") == "notrun":  # gtest DISABLED_ tests
            continue
        if tc.find("skipped") is not None:
            continue
        failed = tc.find("failure") is not None or tc.find("error") is not None
        yield "%s.%s" % (tc.get("classname", ""), tc.get("name", "")), not failed


def read_events(bep_paths):
    """Yields (label prefix, event) for every event; labels of later files get their path as a
    prefix so that two workspaces' //:foo do not collide."""
    for i, path in enumerate(bep_paths):
        prefix = "" if i == 0 else path + ":"
        with open(path) as f:
            for line in f:
                yield prefix, json.loads(line)


def main(bep_paths):
    xml_by_label = {}
    status_by_label = {}
    for prefix, event in read_events(bep_paths):
        eid = event.get("id", {})
        if "testResult" in eid:
            label = prefix + eid["testResult"]["label"]
            for out in event.get("testResult", {}).get("testActionOutput", []):
                if out.get("name") == "test.xml":
                    uri = out.get("uri", "")
                    xml_by_label.setdefault(label, []).append(
                        urllib.parse.unquote(urllib.parse.urlparse(uri).path))
        elif "testSummary" in eid:
            label = prefix + eid["testSummary"]["label"]
            status_by_label[label] = event.get("testSummary", {}).get("overallStatus", "")
        elif "targetCompleted" in eid:
            # A target that failed to build (or was aborted) never ran: one failure.
            if event.get("aborted") or not event.get("completed", {}).get("success"):
                status_by_label.setdefault(prefix + eid["targetCompleted"]["label"],
                                           "FAILED_TO_BUILD")
    passed = failed = 0
    for label in sorted(set(status_by_label) | set(xml_by_label)):
        paths = xml_by_label.get(label, [])
        if not paths:
            if status_by_label.get(label) in (None, "PASSED"):
                continue
            failed += 1
            print("FAILED %s (%s, no test.xml)" % (label, status_by_label.get(label)))
            continue
        for path in paths:
            try:
                for name, ok in cases(path):
                    if ok:
                        passed += 1
                    else:
                        failed += 1
                        print("FAILED %s %s" % (label, name))
            except (OSError, ET.ParseError) as e:
                failed += 1
                print("FAILED %s (unreadable %s: %s)" % (label, path, e))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
