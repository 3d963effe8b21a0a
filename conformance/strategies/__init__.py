"""Hypothesis strategies of the conformance suite, one module per family, as the spec's files.

- :mod:`~conformance.strategies.common`: bounded float arrays, shapes, prediction/target pairs,
  upstream gradients, parameter groups;
- :mod:`~conformance.strategies.classification`, :mod:`~conformance.strategies.regression`,
  :mod:`~conformance.strategies.segmentation`, :mod:`~conformance.strategies.embedding`,
  :mod:`~conformance.strategies.multitask`: the inputs and options of each loss family;
  :mod:`~conformance.strategies.linear_cross_entropy`: hidden states, a projection and its options;
- :mod:`~conformance.strategies.optimizers`: hyperparameters and reachable states of each rule.
"""
