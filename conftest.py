"""Hypothesis profiles for every test suite of the repository.

``dev`` (the default: quick), ``ci`` (derandomized, loaded when the ``CI`` environment variable
is set) and ``release`` (thorough). ``HYPOTHESIS_PROFILE=<name>`` or Hypothesis' own
``--hypothesis-profile=<name>`` picks one explicitly.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}

settings.register_profile("dev", max_examples=20, **_COMMON)
settings.register_profile("ci", max_examples=40, derandomize=True, print_blob=True, **_COMMON)
settings.register_profile("release", max_examples=400, print_blob=True, **_COMMON)

_profile = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(_profile)
