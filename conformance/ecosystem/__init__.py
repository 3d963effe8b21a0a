"""The audit of the ecosystem's implementations: ``nox -s audit_ecosystem``.

``candidates.toml`` lists public implementations of the spec's rules and losses (torch.optim,
pytorch_optimizer, timm, torch-optimizer, adabelief-pytorch, schedulefree, lion-pytorch,
torch-adopt; torch.nn.functional, torchvision, MONAI, kornia, segmentation_models_pytorch), the
configurations each is audited with, and, for each divergence found, its reading (a bug, a
documented semantic difference, or lower precision) with the source line that shows it.
:mod:`~conformance.ecosystem.run` audits them all and writes ``reports/audit/ecosystem.md`` and
``.json``; the nox session copies the table to ``docs/ecosystem_audit.md``, which the
documentation publishes.
"""
