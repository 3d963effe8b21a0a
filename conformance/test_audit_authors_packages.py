"""The audit on the authors' packages of Schedule-Free, Lion and ADOPT (test-only dependencies) and on lossopt's
classes: each conforms to its rule. A rule with train / eval modes has its candidate put in train mode."""

import pytest

from lossopt_spec.audit import audit

CASES = [
    ("schedulefree:AdamWScheduleFree", "schedule_free_adamw", {"lr": 0.01, "warmup_steps": 5, "weight_decay": 0.01}),
    ("schedulefree:SGDScheduleFree", "schedule_free_sgd", {"lr": 0.1, "warmup_steps": 5, "r": 1.0}),
    ("lion_pytorch:Lion", "lion", {"lr": 1e-3, "weight_decay": 0.1}),
    ("adopt:ADOPT", "adopt", {"weight_decay": 0.01, "decouple": True}),
    ("lossopt:ScheduleFreeAdamW", "schedule_free_adamw", {"lr": 0.01, "warmup_steps": 5, "weight_decay": 0.01}),
    ("lossopt:ScheduleFreeSGD", "schedule_free_sgd", {"lr": 0.1, "warmup_steps": 5, "r": 1.0}),
    ("lossopt:Lion", "lion", {"lr": 1e-3, "weight_decay": 0.1}),
    ("lossopt:ADOPT", "adopt", {"weight_decay": 0.01, "decouple": True}),
]


@pytest.mark.parametrize(("target", "rule", "config"), CASES, ids=[c[0] for c in CASES])
def test_the_authors_packages_and_lossopts_classes_conform(target, rule, config):
    pytest.importorskip(target.split(":")[0], reason="the authors' packages are test-only references")
    result = audit(target, rule, config, examples=30)
    assert result.conforms, result.render()
    assert result.tolerance == (1e-10, 1e-12)
    assert result.largest.fraction < 0.05, result.render()  # rounding only: far inside the bound
