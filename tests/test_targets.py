"""convvis_lib.targets: one parser for class and unit targets, used the same way by every technique."""
import torch
import pytest

from convvis_lib.errors import ConvVisError
from convvis_lib.gradcam import grad_cam
from convvis_lib.gradients import guided_backprop
from convvis_lib.targets import class_targets


def test_class_targets():
    logits = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 1.0]])
    assert class_targets(None, None, logits).tolist() == [1, 0]
    assert class_targets(None, 2, logits).tolist() == [2, 2]
    assert class_targets(None, torch.tensor([0, 1]), logits).tolist() == [0, 1]
    with pytest.raises(ConvVisError, match="got 3 class targets for a batch of 2"):
        class_targets(None, [0, 1, 2], logits)
    with pytest.raises(ConvVisError, match="0..2"):
        class_targets(None, 5, logits)


def test_a_tuple_of_class_names_is_one_class_per_image(three_classes):
    model, info, x, _ = three_classes
    x2 = x[:2]
    for names in (("셔츠", "가방"), ("Shirt", "Bag"), ("셔츠", 8)):
        torch.testing.assert_close(grad_cam(model, info, x2, names), grad_cam(model, info, x2, [6, 8]),
                                   rtol=0, atol=0)
        torch.testing.assert_close(guided_backprop(model, info, x2, names), guided_backprop(model, info, x2, [6, 8]),
                                   rtol=0, atol=0)
    with pytest.raises(ConvVisError, match="got 2 class targets for a batch of 3 images"):
        grad_cam(model, info, x, ("셔츠", "가방"))


def test_unit_targets_and_their_rule(three_classes):
    from dataclasses import replace

    from convvis_lib.gradients import input_gradient
    from convvis_lib.targets import UnitTarget, unit_target
    model, info, x, _ = three_classes
    assert unit_target(model, info, ("conv2", 7)) == UnitTarget("conv2", 7)           # a layer and an int: a unit
    assert unit_target(model, info, ("셔츠", 7)) is None                                # a class name: two classes
    assert unit_target(model, info, ("셔츠", "가방")) is None and unit_target(model, info, [6, 8]) is None
    torch.testing.assert_close(input_gradient(model, info, x, ("conv2", 7)),
                               input_gradient(model, info, x, UnitTarget("conv2", 7)), rtol=0, atol=0)
    with pytest.raises(ConvVisError, match=r"unknown layer 'conv9'; allowed: 'conv1'.*read as \(layer, unit\)"):
        input_gradient(model, info, x, ("conv9", 0))
    odd = replace(info, class_names_ko=("conv2",) + tuple(info.class_names_ko[1:]))  # a class named like a layer
    with pytest.raises(ConvVisError, match=r"ambiguous: 'conv2' is both a layer and a class name; use UnitTarget"):
        input_gradient(model, odd, x, ("conv2", 1))
    assert input_gradient(model, odd, x, UnitTarget("conv2", 1)).shape == x.shape     # the explicit type is never ambiguous
    with pytest.raises(ConvVisError, match="needs a class target, not the unit"):
        grad_cam(model, info, x, UnitTarget("conv2", 1))
