"""convvis_lib.fashionnet: the architecture's shapes and its hook-friendly layout."""
import torch
from torch import nn

from convvis_lib.fashionnet import FashionNet


def test_shapes_through_the_named_layers():
    net = FashionNet().eval()
    x = torch.zeros(2, 1, 28, 28)
    assert net.pool1(net.relu1(net.conv1(x))).shape == (2, 32, 14, 14)
    assert net(x).shape == (2, 10)
    assert FashionNet(num_classes=4)(x).shape == (2, 4)


def test_every_relu_is_its_own_non_inplace_module():
    relus = [m for m in FashionNet().modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 4 and len({id(m) for m in relus}) == 4
    assert not any(m.inplace for m in relus)


def test_dropout_acts_only_in_training_mode():
    torch.manual_seed(0)
    net = FashionNet(dropout=0.5)
    x = torch.randn(4, 1, 28, 28)
    net.eval()
    assert torch.equal(net(x), net(x))
    net.train()
    assert not torch.equal(net(x), net(x))
