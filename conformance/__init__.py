"""The conformance suite: the only code that imports both ``lossopt_spec`` and ``lossopt``."""
