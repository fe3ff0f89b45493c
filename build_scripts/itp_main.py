"""The frozen app's entry point: the same `itp` command."""

import sys

from programmer.cli import main

if __name__ == "__main__":
    sys.exit(main())
