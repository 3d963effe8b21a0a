"""The harness's own helpers: tolerances, failure messages, golden I/O."""

import numpy as np
import pytest

from conformance.assertions import assert_matches_spec, format_call
from conformance.tolerances import DEFAULT_TOLERANCES, Tolerance, tolerance_for

pytestmark = pytest.mark.not_in_report  # these comparisons fail on purpose: not measurements of lossopt


def test_tolerance_table_is_torch_testing_defaults():
    assert DEFAULT_TOLERANCES["float32"] == Tolerance(1.3e-6, 1e-5)
    assert DEFAULT_TOLERANCES["bfloat16"] == Tolerance(1.6e-2, 1e-5)
    assert tolerance_for("float32", "value", {("value", "float32"): Tolerance(1e-3, 0)}) == Tolerance(1e-3, 0)
    assert tolerance_for("float32", "grad", {("value", "float32"): Tolerance(1e-3, 0)}) == Tolerance(1.3e-6, 1e-5)
    with pytest.raises(KeyError, match="no tolerance for dtype 'int8'"):
        tolerance_for("int8", "value")


def test_failure_message_names_entry_check_index_values_tolerance_context_and_call():
    with pytest.raises(AssertionError) as error:
        assert_matches_spec(
            np.array([0.1, 0.2, 0.412, 0.3]),
            np.array([0.1, 0.2, 0.409, 0.3]),
            entry="adamw",
            check="exp_avg_sq",
            tolerance=Tolerance(1.3e-6, 1e-5),
            context={"step": 4, "impl": "foreach", "dtype": "float32"},
            call="adamw(lr=0.1)",
        )
    assert str(error.value) == (
        "adamw: exp_avg_sq[2]=0.412 vs spec 0.409 (rtol=1.3e-06, atol=1e-05; 1 of 4 elements outside) "
        "[step 4, impl=foreach, dtype=float32] call: adamw(lr=0.1)"
    )


def test_matching_within_tolerance_and_nan_in_place_pass():
    assert_matches_spec(
        np.array([1.0 + 1e-7, np.nan, np.inf]),
        np.array([1.0, np.nan, np.inf]),
        entry="e",
        check="c",
        tolerance=Tolerance(1.3e-6, 1e-5),
        context={},
        call="f()",
    )


@pytest.mark.parametrize(
    ("got", "want"), [([np.nan], [1.0]), ([1.0], [np.nan]), ([np.inf], [-np.inf]), ([1.0, 2.0], [1.0])]
)
def test_nan_inf_and_shape_differences_fail(got, want):
    with pytest.raises(AssertionError, match=r"^e: c"):
        assert_matches_spec(
            np.array(got), np.array(want), entry="e", check="c", tolerance=Tolerance(1, 1), context={}, call="f()"
        )


def test_scalar_failure_has_no_index():
    with pytest.raises(AssertionError, match=r"^mse: value=2 vs spec 1 "):
        assert_matches_spec(2.0, 1.0, entry="mse", check="value", tolerance=Tolerance(0, 0), context={}, call="f()")


def test_format_call_writes_small_arrays_in_full_and_summarizes_large_ones():
    text = format_call("mse_loss", {"predictions": np.array([0.1, 2.0]), "big": np.zeros(100), "reduction": "sum"})
    assert text == "mse_loss(predictions=array([0.1, 2. ]), big=<array shape=(100,) min=0 max=0>, reduction='sum')"
