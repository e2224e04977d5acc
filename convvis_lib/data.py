"""Fashion-MNIST (shipped sample, full local copy, or download) and sample photos."""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import ConvVisError, DataUnavailableError, choice_error
from .net import can_reach

FASHION_CLASSES_EN = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_CLASSES_KO = (
    "티셔츠/탑", "바지", "풀오버", "드레스", "코트",
    "샌들", "셔츠", "운동화", "가방", "앵클부츠",
)
DATA_ENV = "CONVVIS_DATA"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "convvis"
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SAMPLE_FILE = "fashion_mnist_sample.npz"


@dataclass(frozen=True)
class ImageSet:
    """Grayscale images (N, 28, 28) uint8 with int64 labels and where they came from."""

    images: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.labels)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an idx file (``.gz`` or plain): big-endian header, magic 0x801/0x803."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ConvVisError(f"{path} is too short to be an idx file ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    if magic not in (0x801, 0x803):
        raise ConvVisError(f"{path} is not an idx label/image file (magic {magic:#x}; expected 0x801 or 0x803)")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(data) - offset != expected:
        raise ConvVisError(f"{path} is truncated or corrupt: header says {expected} values, file has {len(data) - offset}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def _find_file(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        for sub in (folder, folder / "FashionMNIST" / "raw"):
            if (sub / name).is_file():
                return sub / name
    return None


def candidate_dirs() -> list[Path]:
    """Folders searched for the full data set, in order."""
    dirs = []
    if os.environ.get(DATA_ENV):
        dirs.append(Path(os.environ[DATA_ENV]))
    return dirs + [DEBIAN_DIR, CACHE_DIR / "fashion-mnist"]


def _download(split: str, target: Path, timeout: float = 3.0) -> bool:
    if not can_reach(DOWNLOAD_URL, timeout=timeout):
        return False
    import urllib.request
    target.mkdir(parents=True, exist_ok=True)
    for stem in SPLIT_FILES[split]:
        dest = target / (stem + ".gz")
        if not dest.exists():
            urllib.request.urlretrieve(DOWNLOAD_URL + stem + ".gz", dest)  # noqa: S310
    return True


def load_fashion_mnist(split: str = "test", download: bool = True) -> ImageSet:
    """Load the full Fashion-MNIST ``split`` from a local copy, or download it.

    Looks in ``$CONVVIS_DATA``, the Debian package's folder and the convvis
    cache; if none has it and ``download`` is true and the network answers
    within 5 s, downloads it into the cache. Otherwise raises
    :class:`DataUnavailableError` explaining how to get it.
    """
    if split not in SPLIT_FILES:
        raise choice_error("split", split, SPLIT_FILES)
    img_stem, lbl_stem = SPLIT_FILES[split]
    for folder in candidate_dirs():
        img, lbl = _find_file(folder, img_stem), _find_file(folder, lbl_stem)
        if img and lbl:
            return ImageSet(read_idx(img), read_idx(lbl).astype(np.int64), str(folder))
    if download and _download(split, CACHE_DIR / "fashion-mnist"):
        return load_fashion_mnist(split, download=False)
    raise DataUnavailableError(
        f"Fashion-MNIST '{split}' split not found in {[str(d) for d in candidate_dirs()]} and the "
        "download site is unreachable. Install it with `apt-get install dataset-fashion-mnist` "
        f"(Debian), or put the four idx .gz files in a folder named by ${DATA_ENV}. "
        "The shipped sample (load_sample()) works offline."
    )


def load_sample() -> ImageSet:
    """The stratified test-set sample that ships inside the package (offline)."""
    with resources.files("convvis_lib").joinpath("assets", SAMPLE_FILE).open("rb") as f:
        z = np.load(f)
        return ImageSet(z["images"], z["labels"].astype(np.int64), "shipped sample")


def fashion_images(use_full: bool = False) -> ImageSet:
    """Images for the chapters: the shipped sample, or the full test set if asked and present."""
    if use_full:
        try:
            return load_fashion_mnist("test")
        except DataUnavailableError as err:
            print(f"[convvis] {err}\n[convvis] using the shipped sample instead.")
    return load_sample()


def make_sample(images: np.ndarray, labels: np.ndarray, per_class: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``per_class`` images of each class, seeded, in a fixed interleaved order."""
    rng = np.random.default_rng(seed)
    picks = [np.sort(rng.choice(np.flatnonzero(labels == c), per_class, replace=False))
             for c in range(int(labels.max()) + 1)]
    order = np.stack(picks, axis=1).reshape(-1)  # class 0,1,...,9,0,1,...
    return images[order], labels[order]


PHOTO_NAMES = ("chelsea", "coffee", "astronaut", "rocket", "motorcycle_left",
               "motorcycle_right", "grace_hopper", "china", "flower")
# More pictures bundled with scikit-image (grayscale ones come back as three equal channels): scenes and
# textures for the crop collection of ImageNet models (samples.photo_crops).
EXTRA_PHOTO_NAMES = ("camera", "coins", "brick", "gravel", "hubble_deep_field", "retina")
ALL_PHOTO_NAMES = PHOTO_NAMES + EXTRA_PHOTO_NAMES


def _sklearn_sample_image(filename: str) -> np.ndarray:
    """What ``sklearn.datasets.load_sample_image(filename)`` returns, read straight from the installed
    package's files (importing scikit-learn's datasets costs 2-3 s)."""
    from importlib.util import find_spec

    from PIL import Image
    spec = find_spec("sklearn")  # finds the package without running it
    if spec is None or spec.origin is None:
        raise ConvVisError(f"the photo {filename!r} ships with scikit-learn, which is not installed; "
                           "pip install scikit-learn")
    with Image.open(Path(spec.origin).parent / "datasets" / "images" / filename) as image:
        return np.asarray(image.convert("RGB"))


def sample_photo(name: str) -> np.ndarray:
    """A real RGB photo (H, W, 3) uint8 that ships inside an installed package (no download).

    ``name`` is one of :data:`ALL_PHOTO_NAMES`: scikit-image's bundled pictures, matplotlib's
    ``grace_hopper`` and scikit-learn's ``china`` and ``flower``.
    """
    if name not in ALL_PHOTO_NAMES:
        raise choice_error("photo", name, ALL_PHOTO_NAMES)
    if name == "grace_hopper":
        import matplotlib.cbook as cbook
        from PIL import Image
        with cbook.get_sample_data("grace_hopper.jpg") as f:
            return np.asarray(Image.open(f).convert("RGB"))
    if name in ("china", "flower"):
        return _sklearn_sample_image(name + ".jpg")
    from skimage import data as skd
    if name.startswith("motorcycle"):
        left, right, _ = skd.stereo_motorcycle()
        return np.ascontiguousarray(left if name.endswith("left") else right)
    image = np.asarray(getattr(skd, name)())
    if image.ndim == 2:
        return np.ascontiguousarray(np.repeat(image[..., None], 3, axis=2))
    return np.ascontiguousarray(image[..., :3])
