"""The frozen app's entry point: the same `itp` command."""

import multiprocessing
import sys

from programmer.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # the audit verifier uses worker processes when frozen
    sys.exit(main())
