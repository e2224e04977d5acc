"""convvis_lib.explain: every method through one entry point, each map equal to its technique's own."""
import pytest
import torch

from convvis_lib.errors import ConvVisError
from convvis_lib.explain import METHODS, explanation, explanations
from convvis_lib.gradcam import grad_cam
from convvis_lib.gradients import saliency
from convvis_lib.hooks import count_hooks


def test_every_method_gives_one_map_per_image(three_classes):
    model, info, x, y = three_classes
    maps = explanations(model, info, x, y, METHODS)
    for name, m in maps.items():
        assert m.shape == (3, 28, 28) and torch.isfinite(m).all(), name
    assert torch.equal(maps["saliency"], saliency(model, info, x, y))
    assert torch.equal(maps["gradcam"], grad_cam(model, info, x, y, layer="conv3"))
    occ = maps["occlusion"]
    from convvis_lib.occlusion import occlusion_scan
    scan = occlusion_scan(model, info, x[:1], progress=False)
    assert occ[0, 0, 0].item() == pytest.approx((scan.base_probs[y[0]] - scan.probs[0, 0, y[0]]).item())
    with pytest.raises(ConvVisError, match="'lime'.*'saliency'"):
        explanation(model, info, x, y, "lime")
    assert count_hooks(model) == 0
