"""The torch.optim glue every lossopt optimizer shares, written once.

A rule (``lossopt.optim.adam``, ``sgd``, ``radam``, ``adabelief``) subclasses :class:`RuleOptimizer`
and supplies its hyperparameters, their checks, its state (:meth:`~RuleOptimizer.new_state`), its
per-step scalars (:meth:`~RuleOptimizer.scalars`), its per-tensor update (:attr:`~RuleOptimizer.update`,
read beside the spec) and the fused kernels it can run on (:attr:`~RuleOptimizer.fused_kernels`).
Everything else is here:

- ``defaults``, ``__setstate__`` (keys older or ``torch.optim`` state dicts lack), ``add_param_group``
  and ``load_state_dict`` (checks and migrations: :mod:`lossopt.optim.group_state`);
- the step prologue, once per ``step()``: the closure (once, with gradients enabled), the global
  gradient norm over every group (c1), ``torch.amp.GradScaler``'s ``grad_scale`` / ``found_inf``,
  ``skip_nonfinite``, and each group's schedule clock (s3), which gives the step's learning rate;
- the collection of a group's tensors and the creation of their state, step counters included;
- two hooks for rules with more than per-tensor state (Schedule-Free): :meth:`~RuleOptimizer.begin_group_step`,
  once per group and step, and the mode switches :meth:`~RuleOptimizer.train` / :meth:`~RuleOptimizer.eval`
  (no-ops for every other rule, so one training loop serves them all);
- :meth:`~RuleOptimizer.kernels`, the one place that chooses how a group is updated: the fused kernels
  the rule lists (each takes what it can), then the multi-tensor kernel, or the per-tensor one.

No host-device synchronisation: the norm, the clip coefficient, ``found_inf`` and a tensor ``lr`` stay
tensors; step counters live on the CPU (read there for free) unless the group keeps them on the
device (``capturable``, torch's fused kernels, ``skip_nonfinite``), where the scalars are computed
with tensor arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import torch
from torch.optim import Optimizer

from lossopt._torch_compat import has_foreach_ops
from lossopt.optim import group_state
from lossopt.optim._validation import SparseGradientError, check_flags, check_kernel_flags, check_schedule_clip
from lossopt.optim.clip import global_grad_norm
from lossopt.optim.group_state import CLOCK, SCHEDULE_CLIP_DEFAULTS, SKIP_NONFINITE
from lossopt.optim.kernels import cpu_build, execute
from lossopt.optim.kernels._amp import grad_multiplier
from lossopt.optim.kernels._nonfinite import combine, nonfinite
from lossopt.optim.kernels._tensor_groups import default_foreach, local_shards, local_value, real_views
from lossopt.optim.kernels.execute import Batch, StepInputs

Kernel = Callable[[Any, Batch, StepInputs], Batch | None]
_RULES: list[type[RuleOptimizer]] = []  # every rule class, in definition order (load_state_dict names the saver)


def constructor_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """A rule's ``defaults``: its constructor's arguments, ``locals()`` taken first thing in ``__init__``
    (every argument is a hyperparameter or a flag under its own name, as in ``torch.optim``)."""
    return {name: value for name, value in arguments.items() if name not in ("self", "params", "__class__")}


class RuleOptimizer(Optimizer):
    """A ``torch.optim.Optimizer`` whose update is a lossopt rule; see the module docstring."""

    flag_defaults: ClassVar[Mapping[str, Any]] = {}
    """The rule's flags with the values a state dict that lacks them means (``__setstate__``, loading)."""
    counts_steps: ClassVar[bool] = True
    """Whether the state holds a ``step`` counter (0-dim float32 tensor, as ``torch.optim``)."""
    device_counters: ClassVar[bool] = False
    """``capturable`` / ``fused`` groups keep the counters on the parameters' device (torch's Adam)."""
    fused_amp_scaling: ClassVar[bool] = False
    """With ``fused=True`` the optimizer consumes ``GradScaler``'s scale and ``found_inf``."""
    float32_arithmetic: ClassVar[bool] = False
    """float16/bfloat16 parameters: float32 state, updated in float32 and rounded once into the parameter."""
    host_arithmetic: ClassVar[bool] = True
    """Host counters are read (no device sync) and the scalars computed in Python, as ``torch.optim``; else
    they are computed as tensors from the counters, never read (RAdam, AdaBelief: the branch is data)."""
    complex_as_real: ClassVar[bool] = True
    """Complex parameters are updated as their real views (``torch.view_as_real``, as ``torch.optim``'s Adam);
    ``False`` for a rule that only scales and adds (SGD: torch runs it on the complex tensors themselves)."""
    first_step_differs: ClassVar[bool] = False
    """The update of a tensor whose state is new differs (SGD's buffer ``b <- g``): ``s.first``."""
    foreach_ops: ClassVar[tuple[str, ...]] = ("add_", "mul_", "addcmul_", "addcdiv_", "lerp_", "sqrt")
    """The ``torch._foreach_*`` ops the multi-tensor kernel needs; without them, the per-tensor one runs."""
    group_keys: ClassVar[frozenset[str]] = frozenset()
    """Hyperparameters a saved group of this rule always has (``torch.optim``'s and lossopt's alike)."""
    foreign_keys: ClassVar[frozenset[str]] = frozenset()
    """Hyperparameters a saved group of this rule never has (another rule's)."""
    group_values: ClassVar[Mapping[str, Any]] = {}
    """Values a saved group of this rule has where it has the key (``decoupled_weight_decay`` tells AdamW from Adam)."""
    required_state: ClassVar[tuple[str, ...]] = ()
    """What a parameter's saved state must hold, when it holds anything (checked by ``load_state_dict``)."""
    fused_kernels: ClassVar[tuple[Kernel, ...]] = ()
    """``fused=True``: kernels tried in order, each taking the tensors it can; the rest run foreach."""
    update: Callable[..., None]
    """The per-tensor update ``update(p, g, *states, s)``, in the spec's statement order."""

    def __init__(self, params: Iterable[torch.Tensor] | Iterable[dict[str, Any]], defaults: dict[str, Any]) -> None:
        super().__init__(params, self._checked({**SCHEDULE_CLIP_DEFAULTS, SKIP_NONFINITE: False, **defaults}))
        self._default_group_keys()
        if defaults.get("fused") and self.fused_amp_scaling:
            self._step_supports_amp_scaling = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _RULES.append(cls)

    @classmethod
    def saved_this(cls, group: Mapping[str, Any], state_keys: set[str]) -> bool:
        """Whether a saved group (its hyperparameters, the union of its parameters' state keys) can be this rule's,
        ``torch.optim``'s optimizer of the same name included: :attr:`group_keys` present, :attr:`foreign_keys`
        absent, every state key one of this rule's."""
        keys = set(group)
        return (
            cls.group_keys <= keys
            and not (cls.foreign_keys & keys)
            and state_keys <= {"step", *cls.state_names}
            and all(group.get(key, value) == value for key, value in cls.group_values.items())
        )

    def _checked(self, hyper: dict[str, Any]) -> dict[str, Any]:
        """``hyper`` checked (the message names the argument, the value and what is allowed) and converted
        (NumPy numbers to Python ones): the flags, the kernel choice, the extras, then the rule's own."""
        flags = {k: hyper[k] for k in self.flag_defaults if k in hyper}
        check_flags(**flags, skip_nonfinite=hyper[SKIP_NONFINITE])
        check_kernel_flags(hyper.get("foreach"), hyper.get("fused"), hyper.get("differentiable", False))
        extras = check_schedule_clip(
            hyper["warmup_steps"], hyper["max_grad_norm"], hyper["use_cyclical_lr"], hyper["cycle_length"]
        )
        return self.validated({**hyper, **extras})

    # ----------------------------------------------------------------- what each rule supplies

    state_names: ClassVar[tuple[str, ...]] = ()
    """The per-parameter state tensors the update takes, in its argument order (``None`` where not kept)."""
    kept_when: ClassVar[Mapping[str, str]] = {}
    """State tensors kept only while a group flag is on (``{"max_exp_avg_sq": "amsgrad"}``), as torch.optim."""

    def group_state_names(self, group: Mapping[str, Any]) -> tuple[str, ...]:
        """The state tensors ``group``'s update takes: :attr:`state_names` (a rule whose groups run different
        updates, as Muon's AdamW groups, names each group's)."""
        return self.state_names

    def group_counts_steps(self, group: Mapping[str, Any]) -> bool:
        """Whether ``group``'s parameters keep a ``step`` counter: :attr:`counts_steps` (or per group, as above)."""
        return self.counts_steps

    def new_state(self, name: str, param: torch.Tensor, group: Mapping[str, Any]) -> torch.Tensor | None:
        """A fresh state tensor ``name`` for ``param`` (zeros of its shape; float32 for a float16/bfloat16
        parameter of a rule with ``float32_arithmetic``), or ``None`` where the group keeps none."""
        if name in self.kept_when and not group[self.kept_when[name]]:
            return None
        dtype = torch.float32 if self.float32_arithmetic and param.dtype in execute.LOW_PRECISION else param.dtype
        return torch.zeros_like(param, dtype=dtype, memory_format=torch.preserve_format)

    def coupled_decay(self, group: Mapping[str, Any]) -> float:
        """The L2 coefficient added to the gradient, :math:`g + \\lambda \\theta` (0: none)."""
        return 0.0

    def scalars(self, group: Mapping[str, Any], t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]:
        """This step's scalars from the step ``t`` (a float, or a float64 tensor of one step per tensor)."""
        raise NotImplementedError

    def validated(self, hyper: dict[str, Any]) -> dict[str, Any]:
        """The rule's hyperparameters checked and converted (the defaults, and every group's overrides)."""
        return hyper

    def begin_group_step(self, group: dict[str, Any], lr: Any, found_inf: torch.Tensor | None) -> None:
        """Once per ``step()`` and group, after its clock advanced to rate ``lr`` and before its update: a rule's
        group-level state (Schedule-Free's averaging weights), left as it was where ``found_inf`` is nonzero."""

    def train(self) -> None:
        """Put the parameters at their training values (Schedule-Free's :math:`y`); the same values for other rules."""

    def eval(self) -> None:
        """Put the parameters at their evaluation values (Schedule-Free's :math:`x`); the same for other rules."""

    # ----------------------------------------------------------------- torch.optim glue

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        overrides = [key for key in param_group if key != "params"]
        if overrides:  # checked with the defaults they complete, as the constructor's arguments
            checked = self._checked({**self.defaults, **{key: param_group[key] for key in overrides}})
            param_group.update({key: checked[key] for key in overrides if key in checked})
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        group.setdefault(CLOCK, 0)
        group_state.place_clock(group, group_state.clock_on_device(group))

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in self.flag_defaults.items():
                group.setdefault(key, value)
        self._default_group_keys()

    def _default_group_keys(self) -> None:
        self.__dict__.setdefault("_grad_norm_slot", [None])  # (see last_grad_norm)
        for group in self.param_groups:
            for key, value in {**SCHEDULE_CLIP_DEFAULTS, CLOCK: 0, SKIP_NONFINITE: False}.items():
                group.setdefault(key, value)
            group_state.place_clock(group, group_state.clock_on_device(group))
            if group[SKIP_NONFINITE]:
                group_state.place_skip_counter(group)
        group_state.place_step_counters(self.param_groups, self.state, self.device_counters)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """``torch.optim.Optimizer.load_state_dict`` after checking the saved state's layout.

        Loads ``torch.optim``'s state dicts of the same rule (hyperparameters from the state dict; the
        keys it lacks keep this optimizer's values; the schedule clock resumes at the largest ``step``).
        Raises ``ValueError`` saying what to do when a parameter's saved state lacks a key this class needs.
        """
        group_state.check_saved_rule(state_dict, type(self), _RULES)
        group_state.check_saved_state(state_dict, type(self).__name__, self.required_state)
        current = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        super().load_state_dict(state_dict)
        if self.float32_arithmetic:
            group_state.restore_float32_state(state_dict, self.param_groups, self.state)
        group_state.restore_missing_group_keys(state_dict["param_groups"], current, self.param_groups, self.state)
        for group in self.param_groups:
            for key, value in self.flag_defaults.items():
                group.setdefault(key, value)
        self._default_group_keys()

    def set_schedule_step(self, steps_taken: int) -> None:
        """Set every group's clock as if ``steps_taken`` steps had run (the next ``step()`` is t = steps_taken + 1)."""
        for group in self.param_groups:
            if isinstance(group[CLOCK], torch.Tensor):
                group[CLOCK].fill_(float(steps_taken))
            else:
                group[CLOCK] = int(steps_taken)

    # ----------------------------------------------------------------- the step

    _grad_norm_slot: list[torch.Tensor | None]

    @property
    def last_grad_norm(self) -> torch.Tensor | None:
        """The global pre-clip gradient norm of the last clipping ``step()`` (a 0-dim device tensor), or ``None``.

        Kept as the item of a list made in ``__init__``: torch.compile replays a list item's change made in a
        compiled ``step()``, where it refuses an attribute set on the optimizer (2.9-2.11) or drops it (2.12+).
        """
        return self.__dict__.get("_grad_norm_slot", [None])[0]  # type: ignore[no-any-return]

    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """Perform one update; ``closure`` re-evaluates the model and returns the loss (it runs once)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        differentiable = any(group.get("differentiable", False) for group in self.param_groups)
        with torch.set_grad_enabled(differentiable):
            if not torch.compiler.is_compiling():  # (a compiled step refuses sparse gradients in its kernels)
                self._refuse_or_prepare()  # what can raise, before any clock, counter or tensor changes
            grad_norm, grad_scale, found_inf = self._begin_step()  # (c1) over every group, before any update
            for group in self.param_groups:
                lr = group_state.advance_clock(group, found_inf)  # (0) lr_t = lr w c (even without gradients)
                self.begin_group_step(group, lr, found_inf)
                clipping = group["max_grad_norm"] is not None
                multiplier = grad_multiplier(grad_norm if clipping else None, group["max_grad_norm"], grad_scale)
                self._update_group(group, lr, multiplier, found_inf)
        return loss

    def _refuse_or_prepare(self) -> None:
        """Raise now if the step cannot be taken (a sparse gradient), and build lossopt's CPU kernels if a fused
        group will need them (their warning, an error under ``-W error``, comes before anything changed)."""
        for group in self.param_groups:
            grads = [p.grad for p in group["params"] if p.grad is not None]
            for grad in grads:
                if grad.is_sparse:
                    shape = tuple(grad.shape)
                    raise SparseGradientError(
                        f"Invalid gradient: a sparse gradient for a parameter of shape {shape} ({type(self).__name__} "
                        f"does not support sparse gradients; it needs a dense one for the parameter of shape {shape})"
                    )
            if group.get("fused") and any(g.is_cpu for g in grads):
                cpu_build.library()

    def _update_group(
        self,
        group: dict[str, Any],
        lr: float | torch.Tensor,
        multiplier: torch.Tensor | None = None,
        found_inf: torch.Tensor | None = None,
    ) -> None:
        """One update of ``group`` at rate ``lr``: gradients times ``multiplier`` (the clip coefficient times
        :math:`1/S`), skipped where ``found_inf`` is nonzero; the counters advance (and go back on a skip)."""
        batch = self._collect(group)
        if batch is None:
            return
        if found_inf is not None:  # 0 or 1 (torch's fused kernels skip on exactly 1)
            found_inf = torch.ne(local_value(found_inf), 0).to(torch.float32)  # type: ignore[arg-type]
        inputs = StepInputs(group, lr, local_value(multiplier), found_inf)
        if batch.steps:
            torch._foreach_add_(batch.steps, 1.0)  # t <- t + 1
        rest: Batch | None = batch
        for kernel in self.kernels(group):
            rest = kernel(self, rest, inputs)  # type: ignore[arg-type]  # not None: the loop ends first
            if rest is None:
                break
        if found_inf is not None and batch.steps:  # a skipped step: the counters go back
            torch._foreach_sub_(batch.steps, [found_inf.to(s.device, non_blocking=True) for s in batch.steps])

    def kernels(self, group: Mapping[str, Any]) -> list[Kernel]:
        """How ``group`` is updated this step: the one place a kernel is chosen (see the module docstring)."""
        chosen: list[Kernel] = list(self.fused_kernels) if group.get("fused") else []
        wanted = group.get("foreach")
        multi = (wanted if wanted is not None else default_foreach(group["params"])) or bool(chosen)
        if multi and not group.get("differentiable", False) and _has_foreach_ops(self.foreach_ops):
            chosen.append(execute.foreach)
        else:  # a torch without these ops, autograd through the update, or foreach=False: the same result
            chosen.append(execute.per_tensor)
        return chosen

    def _begin_step(self) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None]:
        """``(grad_norm, grad_scale, found_inf)`` for this step, all tensors on the device (no host read).

        ``grad_scale`` / ``found_inf`` are what ``torch.amp.GradScaler.step`` sets on an optimizer with
        ``_step_supports_amp_scaling``: the gradients still carry the scale :math:`S` (``None`` when the
        user called ``scaler.unscale_``), so the norm (c1) is divided by it. With ``skip_nonfinite`` on any
        group the norm is computed even without clipping, and a non-finite norm skips the whole step.
        """
        grad_scale: torch.Tensor | None = getattr(self, "grad_scale", None)
        scaler_found_inf: torch.Tensor | None = getattr(self, "found_inf", None)
        clipping = any(group["max_grad_norm"] is not None for group in self.param_groups)
        skip = any(group.get(SKIP_NONFINITE, False) for group in self.param_groups)
        norm = None
        if clipping or skip:
            grads = [p.grad for group in self.param_groups for p in group["params"] if p.grad is not None]
            fused = all(group.get("fused") for group in self.param_groups)  # only fused=True uses lossopt's C norm
            norm = global_grad_norm(grads, fused=fused)  # (c1)
            if grad_scale is not None:
                norm = norm / grad_scale.to(norm.device, non_blocking=True)  # (c1) of the unscaled gradients
            if clipping:
                self._grad_norm_slot[0] = norm
        found_inf = combine(scaler_found_inf, nonfinite(norm) if skip and norm is not None else None)
        return (norm if clipping else None), grad_scale, found_inf

    def _collect(self, group: dict[str, Any]) -> Batch | None:
        """The group's tensors with gradients (local shards of DTensors), their state created on first use;
        ``Batch.sources`` keeps the parameters as the group holds them (a kernel that needs a whole FSDP2
        parameter, not its shard, reads its DTensor there)."""
        names = self.group_state_names(group)
        on_device = group_state.counters_on_device(group, self.device_counters)
        params, grads, fresh, steps = [], [], [], []
        states: list[list[torch.Tensor | None]] = [[] for _ in names]
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            created = False
            for tensors, name in zip(states, names, strict=True):
                if name not in state:
                    new = self.new_state(name, p, group)
                    if new is not None:
                        state[name] = new
                        created = True
                tensors.append(state.get(name))
            if self.group_counts_steps(group):
                if "step" not in state:
                    state["step"] = torch.zeros((), dtype=torch.float32, device=p.device if on_device else "cpu")
                elif on_device and state["step"].device != p.device:  # saved with the counters on the CPU
                    state["step"] = state["step"].to(p.device)
                steps.append(state["step"])
            params.append(p)
            grads.append(p.grad)
            fresh.append(created)
        if not params:
            return None
        # FSDP2's DTensors as their local shards (the updates are elementwise), complex tensors as real views
        sources = list(params)
        views = real_views if self.complex_as_real else list
        states = [tensors if tensors[0] is None else views(local_shards(tensors)) for tensors in states]  # type: ignore[misc,arg-type]
        params, grads = views(local_shards(params)), views(local_shards(grads))
        return Batch(params, grads, states, steps, fresh, host_counters=not on_device, sources=sources)


_FOREACH_OPS_PRESENT: dict[tuple[str, ...], bool] = {}


def _has_foreach_ops(names: tuple[str, ...]) -> bool:
    """:func:`lossopt._torch_compat.has_foreach_ops`, answered once per set of names (a dict lookup traces)."""
    if names not in _FOREACH_OPS_PRESENT:
        _FOREACH_OPS_PRESENT[names] = has_foreach_ops(*names)
    return _FOREACH_OPS_PRESENT[names]
