"""How a rule's update runs over a parameter group; every kernel has the signature of :mod:`.execute`.

- :mod:`.execute`: per tensor (``foreach=False``) and ``torch._foreach_*`` (the default), running the
  rule's per-tensor update through :mod:`.lanes`;
- :mod:`.torch_fused`: ``torch._fused_adam(w)_`` / ``torch._fused_sgd_`` (``fused=True``);
- :mod:`.cpu`: lossopt's C kernels for float32/float64 CPU tensors (``fused=True``), built by :mod:`.cpu_build`;
- :mod:`.compiled`: the rule's update compiled by ``torch.compile`` (``fused=True`` where no kernel exists).

No kernel imports a rule or the optimizer base: they receive the rule (the optimizer) as an argument.
"""
