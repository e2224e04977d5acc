"""Korean ImageNet-1k class names: convvis_lib/assets/imagenet_classes_ko.tsv.

The English column is compared with torchvision's own category list (read from the weight metadata,
no download), so the file cannot drift out of order with the models' output indices.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import convvis_lib

TSV = Path(convvis_lib.__file__).parent / "assets" / "imagenet_classes_ko.tsv"
HANGUL = re.compile("[\uac00-\ud7a3]")
LATIN = re.compile("[A-Za-z\uff21-\uff3a\uff41-\uff5a]")  # ASCII and full-width letters


@pytest.fixture(scope="module")
def rows() -> list[list[str]]:
    raw = TSV.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "no byte-order mark"
    text = raw.decode("utf-8")
    assert text.endswith("\n") and "\r" not in text
    return [line.split("\t") for line in text.splitlines()]


@pytest.fixture(scope="module")
def korean(rows) -> list[str]:
    return [r[2] for r in rows]


def test_one_line_per_class_in_index_order(rows):
    assert len(rows) == 1000
    assert all(len(r) == 3 for r in rows), [r for r in rows if len(r) != 3][:3]
    assert [int(r[0]) for r in rows] == list(range(1000))


def test_english_column_is_torchvisions_category_list(rows):
    from torchvision.models import AlexNet_Weights, ResNet18_Weights
    categories = AlexNet_Weights.IMAGENET1K_V1.meta["categories"]
    assert ResNet18_Weights.IMAGENET1K_V1.meta["categories"] == categories
    mismatches = [(i, r[1], categories[i]) for i, r in enumerate(rows) if r[1] != categories[i]]
    assert not mismatches, mismatches[:5]


def test_every_korean_name_is_clean_hangul(korean):
    bad = [(i, k) for i, k in enumerate(korean)
           if not k or k != k.strip() or "  " in k or not HANGUL.search(k) or LATIN.search(k) or len(k) > 15]
    assert not bad, bad[:10]


def test_korean_names_are_unique(korean):
    seen: dict[str, int] = {}
    dups = [(seen[k], i, k) for i, k in enumerate(korean) if seen.setdefault(k, i) != i]
    assert not dups, dups


@pytest.mark.parametrize("index, english, expected", [
    (1, "goldfish", "금붕어"),
    (2, "great white shark", "백상아리"),
    (207, "golden retriever", "골든 리트리버"),
    (250, "Siberian husky", "시베리안 허스키"),
    (285, "Egyptian cat", "이집트 고양이"),
    (291, "lion", "사자"),
    (652, "military uniform", "군복"),
    (665, "moped", "모페드"),
    (967, "espresso", "에스프레소"),
])
def test_well_known_classes(korean, rows, index, english, expected):
    assert rows[index][1] == english
    assert korean[index] == expected


SENSES = [  # (index, English, the Korean name must contain, ... must not contain)
    (281, "tabby", "고양이", None),
    (282, "tiger cat", "고양이", None),            # a cat, not a tiger
    (97, "drake", "오리", None),                   # a male duck
    (134, "crane bird", "두루미", "크레인"),
    (517, "crane", "크레인", "두루미"),             # the machine
    (339, "sorrel", "말", None),                   # a horse of that colour
    (456, "bow", "활", "넥타이"),                  # the weapon
    (457, "bow tie", "넥타이", None),
    (519, "crate", "상자", None),
    (838, "sunscreen", "자외선", None),            # the lotion, not a screen
    (639, "maillot tank suit", "수영복", None),
    (726, "plane", "대패", None),                  # the carpenter's tool, not an aeroplane
    (897, "washer", "세탁기", None),               # the washing machine
]


@pytest.mark.parametrize("index, english, must_contain, must_not_contain", SENSES, ids=[e for _, e, _, _ in SENSES])
def test_ambiguous_english_names_get_the_imagenet_sense(korean, rows, index, english, must_contain, must_not_contain):
    assert rows[index][1] == english
    assert must_contain in korean[index]
    assert must_not_contain is None or must_not_contain not in korean[index]


# --- what the library serves: the models' Korean names are this file's column -----------------------------------
# (a missing or malformed file is refused: tests/test_models.py::test_a_malformed_korean_table_is_refused)

@pytest.mark.parametrize("name", ["resnet18", "efficientnet_lite0"])
def test_models_serve_the_korean_column(korean, name):
    import torch
    with torch.device("meta"):  # names only: no weights allocated
        _, info = convvis_lib.load_model(name, pretrained=False)
    assert info.class_names_ko == tuple(korean)
    assert info.label(281) == korean[281] and info.class_index(korean[967]) == 967

