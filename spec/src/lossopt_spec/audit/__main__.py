"""``python -m lossopt_spec.audit``: see :mod:`lossopt_spec.audit.cli`."""

import sys

from lossopt_spec.audit.cli import main

if __name__ == "__main__":
    sys.exit(main())
