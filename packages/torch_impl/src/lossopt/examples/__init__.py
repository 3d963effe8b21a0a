"""Runnable examples of lossopt; ``python -m lossopt demo`` runs them."""

from lossopt.examples.quickstart import QuickstartResult, run_quickstart

__all__ = ["QuickstartResult", "run_quickstart"]
