"""convvis_lib.errors: the error types and the 'allowed: ...' message every bad choice gets."""
import pytest

from convvis_lib.errors import ConvVisError, DataUnavailableError, WeightsUnavailableError, choice_error


def test_choice_error_names_the_value_and_lists_what_is_allowed():
    err = choice_error("layer", "conv9", ["conv1", "conv2"])
    assert isinstance(err, ConvVisError) and isinstance(err, ValueError)
    assert str(err) == "unknown layer 'conv9'; allowed: 'conv1', 'conv2'"


def test_choice_error_shortens_long_lists():
    msg = str(choice_error("class", 1000, range(1000)))
    assert msg.startswith("unknown class 1000; allowed: 0, 1, 2,")
    assert msg.endswith(", 38, 39, ... (1000 in all)") and ", 40," not in msg


@pytest.mark.parametrize("cls", [WeightsUnavailableError, DataUnavailableError])
def test_unavailable_errors_are_runtime_errors_not_bad_arguments(cls):
    assert issubclass(cls, RuntimeError) and not issubclass(cls, ConvVisError)
