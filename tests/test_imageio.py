"""convvis_lib.imageio.load_image: every kind of file becomes (H, W, 3) uint8, or a clear ConvVisError."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

import convvis_lib as cv
from convvis_lib.errors import ConvVisError
from convvis_lib.imageio import load_image


def _save(tmp_path, name: str, img: Image.Image, **kw) -> str:
    path = tmp_path / name
    img.save(path, **kw)
    return str(path)


def test_rgb_png_round_trips_exactly(tmp_path):
    a = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    out = load_image(_save(tmp_path, "a.png", Image.fromarray(a)))
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)
    np.testing.assert_array_equal(out, a)


def test_grayscale_is_repeated_on_three_channels(tmp_path):
    g = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = load_image(_save(tmp_path, "g.png", Image.fromarray(g, "L")))
    for ch in range(3):
        np.testing.assert_array_equal(out[..., ch], g)


def test_one_bit_image(tmp_path):
    img = Image.new("1", (10, 12), 0)
    img.putpixel((3, 4), 1)
    out = load_image(_save(tmp_path, "b.png", img))
    assert out.shape == (12, 10, 3)
    assert out[4, 3].tolist() == [255, 255, 255] and out.sum() == 3 * 255


def test_rgba_is_composited_over_white(tmp_path):
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)
    rgba[..., 0] = 255                    # pure red ...
    rgba[:4, ..., 3] = 255                # ... opaque in the top half
    rgba[4:, ..., 3] = 0                  # ... fully transparent in the bottom half
    rgba[4, 0, 3] = 128                   # one half-transparent pixel
    out = load_image(_save(tmp_path, "t.png", Image.fromarray(rgba, "RGBA"))).astype(int)
    assert out[0, 0].tolist() == [255, 0, 0]
    assert out[7, 7].tolist() == [255, 255, 255]
    # 128/255 red over white: green/blue = 255 * (1 - 128/255) = 127
    assert out[4, 0, 0] == 255 and abs(out[4, 0, 1] - 127) <= 1 and out[4, 0, 1] == out[4, 0, 2]


def test_palette_with_transparency(tmp_path):
    img = Image.new("P", (6, 6), 0)
    img.putpalette([0, 0, 255] + [10, 20, 30] * 255)
    img.putpixel((1, 1), 1)
    img.info["transparency"] = 0          # palette entry 0 (blue) is transparent
    out = load_image(_save(tmp_path, "p.png", img, transparency=0))
    assert out[0, 0].tolist() == [255, 255, 255]
    assert out[1, 1].tolist() == [10, 20, 30]


def test_16bit_grayscale_is_scaled_by_257(tmp_path):
    values = np.array([[0, 257, 257 * 100, 65535]], dtype=np.uint16).repeat(4, axis=0)
    img = Image.fromarray(values)        # mode I;16
    out = load_image(_save(tmp_path, "h.png", img))
    assert out[0, :, 0].tolist() == [0, 1, 100, 255]


def test_32bit_integer_and_float_images(tmp_path):
    ints = Image.fromarray(np.full((4, 4), 40000, dtype=np.int32), "I")
    assert load_image(_save(tmp_path, "i.tif", ints))[0, 0, 0] == round(40000 / 257)
    floats = Image.fromarray(np.full((4, 4), 0.5, dtype=np.float32), "F")
    assert load_image(_save(tmp_path, "f.tif", floats))[0, 0].tolist() == [128, 128, 128]


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    img = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # no cyan, full magenta+yellow = red
    out = load_image(_save(tmp_path, "c.jpg", img, quality=95)).astype(int)
    assert out.shape == (16, 16, 3)
    assert out[8, 8, 0] > 230 and out[8, 8, 1] < 30 and out[8, 8, 2] < 30


def test_exif_rotation_is_applied(tmp_path):
    img = Image.new("RGB", (20, 10), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 4, 4))   # a white block in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6                      # "rotate 90 CW to display"
    out = load_image(_save(tmp_path, "r.png", img, exif=exif))
    assert out.shape == (20, 10, 3)
    # rotated 90 degrees clockwise, the stored top-left corner is shown at the top right
    assert out[:4, -4:].min() > 200 and out[-4:, :4].max() < 50 and out[:4, :4].max() < 50


def test_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    out = load_image(path)               # a pathlib.Path works too
    assert out[0, 0].tolist() == [255, 0, 0]


def test_large_image_is_downscaled_with_a_warning(tmp_path):
    path = _save(tmp_path, "big.png", Image.new("RGB", (400, 200), (10, 200, 30)))
    with pytest.warns(UserWarning, match=r"400x200 = 80,000 pixels .* downscaled to 141x70"):
        out = load_image(path, max_pixels=10_000)
    assert out.shape == (70, 141, 3) and out.shape[0] * out.shape[1] <= 10_000
    assert out[35, 70].tolist() == [10, 200, 30]


def test_large_jpeg_is_decoded_small(tmp_path):
    path = _save(tmp_path, "big.jpg", Image.new("RGB", (1600, 1200), (200, 100, 50)))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        out = load_image(path, max_pixels=20_000)
    assert out.shape[0] * out.shape[1] <= 20_000 and abs(out.shape[1] / out.shape[0] - 4 / 3) < 0.05


def test_huge_image_is_refused_before_decoding(tmp_path):
    path = _save(tmp_path, "huge.png", Image.new("L", (300, 300)))
    with pytest.raises(ConvVisError, match=r"huge\.png.*300x300 = 90,000 pixels.*allowed: at most 50,000"):
        load_image(path, refuse_pixels=50_000)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(ConvVisError, match=r"nope\.png' does not exist"):
        load_image(tmp_path / "nope.png")


def test_folder_is_refused(tmp_path):
    with pytest.raises(ConvVisError, match="is not a file"):
        load_image(tmp_path)


def test_corrupt_file_names_the_path(tmp_path):
    path = tmp_path / "junk.png"
    path.write_bytes(b"this is not an image at all" * 10)
    with pytest.raises(ConvVisError, match=r"junk\.png' is not a readable image file.*allowed: PNG, JPEG"):
        load_image(path)


def test_truncated_png_names_the_path(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(good)
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ConvVisError, match=r"cut\.png' is corrupt or truncated"):
        load_image(cut)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ConvVisError, match=r"empty\.jpg"):
        load_image(path)


@pytest.mark.parametrize("bad", [None, 3, "", b"x.png"])
def test_bad_path_type(bad):
    with pytest.raises(ConvVisError, match="allowed: a non-empty str or pathlib.Path"):
        load_image(bad)


@pytest.mark.parametrize("bad", [0, -5, 10.5, True, "1000"])
def test_bad_limits(tmp_path, bad):
    path = _save(tmp_path, "a.png", Image.new("RGB", (8, 8)))
    with pytest.raises(ConvVisError, match=r"max_pixels .* allowed: an int >= 64"):
        load_image(path, max_pixels=bad)


@pytest.mark.parametrize("name", ["fashionnet", "alexnet"])
def test_loaded_image_feeds_preprocess(tmp_path, name):
    """A loaded photo goes straight into preprocess for both input kinds (1x28x28 and 3x224x224)."""
    rng = np.random.default_rng(2)
    path = _save(tmp_path, "photo.png", Image.fromarray(rng.integers(0, 256, (60, 90, 4), dtype=np.uint8), "RGBA"))
    _, info = cv.load_model(name, pretrained=False)
    x = cv.preprocess(info, load_image(path))
    assert tuple(x.shape) == (1, *info.input_size)
    cv.check_input(info, x)
