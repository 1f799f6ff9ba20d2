"""Run the Python unit tests (discovered in this directory) as `python -m unittest discover` would,
then record how many passed and why each skipped one was skipped in the test summary's log
(PICKLECOST_SKIP_LOG; tests/summary.py prints it). Exit status: 0 only when every test passed.

    python -B tests/python/run.py --suite "python, Python 3.13" [-p test_generators.py]
"""
import argparse
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", required=True, help="the suite's name in the summary")
    parser.add_argument("-p", "--pattern", default="test*.py")
    args = parser.parse_args()
    tests = unittest.TestLoader().discover(start_dir=HERE, pattern=args.pattern, top_level_dir=HERE)
    result = unittest.TextTestRunner().run(tests)
    # A test with failing subtests is one failed test.
    failed = len({getattr(test, "test_case", test).id()
                  for test, _ in result.failures + result.errors} | {
                     test.id() for test in result.unexpectedSuccesses})
    skipped = len(result.skipped) + len(result.expectedFailures)
    records = [("passed", max(result.testsRun - failed - skipped, 0), "")]
    if failed:
        records.append(("failed", failed, ""))
    for _, reason in result.skipped:
        records.append(("skipped", 1, reason))
    for _ in result.expectedFailures:
        records.append(("skipped", 1, "expected failure"))
    log = os.environ.get("PICKLECOST_SKIP_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            for kind, count, reason in records:
                f.write("\t".join([kind, args.suite, str(count), " ".join(reason.split())]) + "\n")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
