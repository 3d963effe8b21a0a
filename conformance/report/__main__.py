"""``python -m conformance.report``: see :mod:`conformance.report.cli`."""

import sys

from conformance.report.cli import main

if __name__ == "__main__":
    sys.exit(main())
