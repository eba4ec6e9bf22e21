"""Image models: a small ResNet classifier and a convolutional autoencoder of normal anatomy.

Both work on 1x28x28 inputs scaled to [0, 1] (the MedMNIST resolution). They are registered in
:data:`IMAGE_MODELS` so a new architecture is one module plus one registration.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from genmed.core.registry import Registry

IMAGE_MODELS: Registry[type[nn.Module]] = Registry("image model")

#: Pixel mean/std of PneumoniaMNIST train images after the canonical intensity mapping (preprocess.py).
PIXEL_MEAN = 0.618
PIXEL_STD = 0.254


class BasicBlock(nn.Module):
    """ResNet basic block (He et al. 2016): two 3x3 convs + identity/projection shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (
            nn.Identity()
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


@IMAGE_MODELS.register("resnet-small")
class SmallResNet(nn.Module):
    """ResNet for 28x28 inputs: 3 stages (w, 2w, 4w channels; 28->14->7), global pooling, one logit.

    Sized for CPU training in minutes; ``features`` exposes the pooled embedding (used by the OOD gate)
    and ``last_conv`` the layer Grad-CAM reads.
    """

    def __init__(self, width: int = 24, blocks: int = 1, dropout: float = 0.2, in_channels: int = 1):
        super().__init__()
        self.config = {"width": width, "blocks": blocks, "dropout": dropout, "in_channels": in_channels}
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        layers: list[nn.Module] = []
        cin = width
        for stage, mult in enumerate((1, 2, 4)):
            for b in range(blocks):
                stride = 2 if stage > 0 and b == 0 else 1
                layers.append(BasicBlock(cin, width * mult, stride))
                cin = width * mult
        self.layers = nn.Sequential(*layers)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(cin, 1)

    @property
    def last_conv(self) -> nn.Module:
        return self.layers[-1]

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - PIXEL_MEAN) / PIXEL_STD

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.layers(self.stem(self.normalise(x)))
        return h.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logit of the positive class (pneumonia), shape (N,)."""
        return self.head(self.dropout(self.features(x))).squeeze(1)


@IMAGE_MODELS.register("conv-autoencoder")
class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder of normal images; its reconstruction error is the anomaly score.

    A bottleneck of ``latent`` numbers forces it to learn the shape of normal anatomy, so what it cannot
    reconstruct (consolidation, foreign content) shows up in the pixel-wise error map.
    """

    def __init__(self, width: int = 16, latent: int = 32):
        super().__init__()
        self.config = {"width": width, "latent": latent}
        w = width
        self.encoder = nn.Sequential(
            nn.Conv2d(1, w, 3, 2, 1), nn.ReLU(),  # 14
            nn.Conv2d(w, 2 * w, 3, 2, 1), nn.ReLU(),  # 7
            nn.Conv2d(2 * w, 4 * w, 3, 1, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(4 * w * 7 * 7, latent),
        )
        self.decoder_fc = nn.Linear(latent, 4 * w * 7 * 7)
        self.decoder = nn.Sequential(
            nn.ReLU(),
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), nn.ReLU(),  # 14
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.ReLU(),  # 28
            nn.Conv2d(w, 1, 3, 1, 1),
        )
        self._w = w

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encode(x)
        h = self.decoder_fc(z).view(-1, 4 * self._w, 7, 7)
        return torch.sigmoid(self.decoder(h))


def build(name: str, config: dict) -> nn.Module:
    return IMAGE_MODELS.get(name)(**config)
