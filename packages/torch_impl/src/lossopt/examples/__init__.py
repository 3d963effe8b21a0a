"""Runnable examples of lossopt: the design document's example classes and the demo report.

``python -m lossopt demo`` runs :func:`run_demo`; plots need ``pip install 'lossopt[plots]'``.
"""

from lossopt.examples.analysis import LossComparison, LossOptimizationAnalysis, OptimizerComparison, OptimizerRun
from lossopt.examples.demo import run_demo
from lossopt.examples.losses import LossExampleResult, LossFunctionExamples
from lossopt.examples.optimization import OptimizationExample, OptimizationExamples
from lossopt.examples.quickstart import QuickstartResult, run_quickstart
from lossopt.examples.report import Report
from lossopt.examples.training import TrainingExamples, TrainingResult

__all__ = [
    "LossComparison",
    "LossExampleResult",
    "LossFunctionExamples",
    "LossOptimizationAnalysis",
    "OptimizationExample",
    "OptimizationExamples",
    "OptimizerComparison",
    "OptimizerRun",
    "QuickstartResult",
    "Report",
    "TrainingExamples",
    "TrainingResult",
    "run_demo",
    "run_quickstart",
]
