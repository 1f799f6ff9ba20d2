"""The test summary scripts/test prints: tests passed per suite, and tests skipped per reason.

Every suite appends to the log file named by PICKLECOST_SKIP_LOG, one record a line,
tab-separated: KIND, SUITE, COUNT, REASON, where KIND is

    passed    COUNT tests of SUITE passed (a test that skipped itself is counted as skipped)
    failed    COUNT tests of SUITE failed
    skipped   COUNT tests of SUITE were skipped, for REASON
    not-run   SUITE as a whole was not run, for REASON

Writers: tests/python/run.py (the Python unit tests), tests/cli/util.rs `skip()` (a Rust test
that cannot run here), `summary.py cargo` (cargo's own counts and its `#[ignore = "..."]`
reasons), `summary.py record` (scripts/test and scripts/py314, for what they do not run).

    summary.py cargo LABEL < cargo-test-output   LABEL: "cargo {bin}, Python 3.13"; {bin} becomes
                                                  lib, bin, cli or doc for each test binary
    summary.py record KIND SUITE COUNT [REASON]
    summary.py report                             print the summary
"""
import collections
import os
import re
import sys

# How cargo names the test binary whose results follow.
BINARIES = [
    (re.compile(r"^\s*Running unittests src/lib\.rs"), "lib"),
    (re.compile(r"^\s*Running unittests src/main\.rs"), "bin"),
    (re.compile(r"^\s*Running tests/(\w+)/main\.rs"), None),  # the directory names it: cli
    (re.compile(r"^\s*Running tests/(\w+)\.rs"), None),
    (re.compile(r"^\s*Doc-tests "), "doc"),
]
RESULT = re.compile(r"^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored")
IGNORED = re.compile(r"^test (\S+) \.\.\. ignored(?:, (.*))?$")


def log_path():
    path = os.environ.get("PICKLECOST_SKIP_LOG")
    if not path:
        sys.exit("summary.py: PICKLECOST_SKIP_LOG is not set")
    return path


def record(kind, suite, count, reason=""):
    line = "\t".join([kind, suite, str(count), " ".join(reason.split())]) + "\n"
    with open(log_path(), "a", encoding="utf-8") as f:
        f.write(line)


def cargo(label, lines):
    """Record each test binary's passed and failed counts and every ignored test's reason.

    A Rust test that skipped itself (tests/cli/util.rs `skip()`) passed as far as cargo knows,
    and its record is already in the log: it is taken off that suite's passed count here, so
    it counts once, as skipped. (So a LABEL names one run: scripts/test never reuses one.)
    """
    own_skips = collections.Counter()
    for kind, suite, count, _ in read_log():
        if kind == "skipped":
            own_skips[suite] += count
    binary = "tests"
    for line in lines:
        line = line.rstrip("\n")
        for pattern, name in BINARIES:
            m = pattern.match(line)
            if m:
                binary = name or m.group(1)
                break
        suite = label.replace("{bin}", binary)
        m = IGNORED.match(line)
        if m:
            record("skipped", suite, 1, m.group(2) or "#[ignore] without a reason")
            continue
        m = RESULT.match(line)
        if m:
            passed, failed, _ = (int(g) for g in m.groups())
            if passed or failed:
                record("passed", suite, max(passed - own_skips.pop(suite, 0), 0))
            if failed:
                record("failed", suite, failed)


def read_log():
    rows = []
    try:
        with open(log_path(), encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 3 and parts[2].isdigit():
                    rows.append((parts[0], parts[1], int(parts[2]), parts[3] if len(parts) > 3 else ""))
    except FileNotFoundError:
        pass
    return rows


def report():
    rows = read_log()
    total = collections.Counter()
    for kind, suite, count, _ in rows:
        total[kind, suite] += count
    suites = list(dict.fromkeys(suite for _, suite, _, _ in rows))
    width = max([len(s) for s in suites] + [10])
    print("test summary:")
    for suite in suites:
        not_run = [reason for kind, s, _, reason in rows if kind == "not-run" and s == suite]
        if not_run:
            print("  %-*s  not run: %s" % (width, suite, "; ".join(not_run)))
            continue
        parts = ["%d passed" % total["passed", suite]]
        if total["skipped", suite]:
            parts.append("%d skipped" % total["skipped", suite])
        if total["failed", suite]:
            parts.append("%d FAILED" % total["failed", suite])
        print("  %-*s  %s" % (width, suite, ", ".join(parts)))
    reasons = {}
    for kind, suite, count, reason in rows:
        if kind == "skipped":
            per_suite = reasons.setdefault(reason, {})
            per_suite[suite] = per_suite.get(suite, 0) + count
    print("skipped, per reason:" if reasons else "skipped: none")
    for reason, per_suite in reasons.items():
        print("  %d skipped: %s  [%s]" % (
            sum(per_suite.values()), reason, "; ".join("%s: %d" % kv for kv in per_suite.items())))
    failed = sum(count for (kind, _), count in total.items() if kind == "failed")
    if failed:
        print("%d test(s) FAILED" % failed)


def main(argv):
    if len(argv) == 2 and argv[0] == "cargo":
        cargo(argv[1], sys.stdin)
    elif len(argv) in (4, 5) and argv[0] == "record" and argv[3].isdigit():
        record(argv[1], argv[2], int(argv[3]), argv[4] if len(argv) == 5 else "")
    elif argv == ["report"]:
        report()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
