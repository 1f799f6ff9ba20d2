"""`python -m picklecost` and the console script `picklecost` (wheel only): run the command line
inside this interpreter, the site's own environment, and exit with its status (`_native.main`
ends the process itself, without Python's finalisation, as the standalone binary ends).

Not embedded in the standalone binary, which has its own `main`.
"""

import sys


def main():
    from picklecost import _native

    # clap names the program after argv[0]: the tool's name, not `__main__.py`.
    _native.main(["picklecost", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
