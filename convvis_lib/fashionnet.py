"""FashionNet: the small AlexNet-style CNN that ships with the book."""
from __future__ import annotations

import torch
from torch import nn


class FashionNet(nn.Module):
    """Three conv blocks and two fully connected layers for 1x28x28 inputs.

    Every layer is a named attribute (``conv1``, ``relu1``, ``pool1``, ...),
    and every ReLU is its own non-inplace ``nn.ReLU`` module, so forward and
    backward hooks (guided backprop, DeconvNet) see each nonlinearity.
    """

    def __init__(self, num_classes: int = 10, dropout: float = 0.3) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, padding=1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)  # 28 -> 14
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)  # 14 -> 7
        self.conv3 = nn.Conv2d(64, 128, kernel_size=3, padding=1)
        self.relu3 = nn.ReLU()
        self.pool3 = nn.MaxPool2d(2)  # 7 -> 3
        self.flatten = nn.Flatten()
        self.drop1 = nn.Dropout(dropout)
        self.fc1 = nn.Linear(128 * 3 * 3, 256)
        self.relu4 = nn.ReLU()
        self.drop2 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.pool3(self.relu3(self.conv3(x)))
        x = self.drop1(self.flatten(x))
        x = self.drop2(self.relu4(self.fc1(x)))
        return self.fc2(x)
