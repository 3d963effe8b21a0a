"""``python -m conformance.ecosystem OUT_DIR``: see :mod:`conformance.ecosystem.run`."""

import sys

from conformance.ecosystem.run import main

if __name__ == "__main__":
    sys.exit(main())
