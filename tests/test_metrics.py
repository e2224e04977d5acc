"""convvis_lib.metrics: confusion matrix and top confusions against hand-counted answers."""
import numpy as np
import pytest

import convvis_lib as cv
from convvis_lib.metrics import confusion_matrix, top_confusions


def test_confusion_matrix_and_top_confusions_hand_made():
    y = [0, 0, 1, 1, 1, 2, 2, 2]
    p = [0, 1, 1, 2, 2, 2, 0, 2]
    cm = confusion_matrix(y, p, 3)
    assert np.array_equal(cm, [[1, 1, 0], [0, 1, 2], [1, 0, 2]])
    assert top_confusions(cm, 2) == [(1, 2, 2), (0, 1, 1)]
    assert top_confusions(np.eye(3, dtype=int), 5) == []  # no mistakes: nothing off the diagonal


def test_confusion_matrix_keeps_classes_that_never_occur():
    cm = confusion_matrix([0, 0], [0, 0], 4)
    assert cm.shape == (4, 4) and cm.sum() == 2 and cm[0, 0] == 2


def test_confusion_matrix_refuses_bad_input():
    with pytest.raises(cv.ConvVisError, match="class index 3 out of range; allowed: 0..2"):
        confusion_matrix([0, 3], [0, 0], 3)
    with pytest.raises(cv.ConvVisError, match="same length"):
        confusion_matrix([0, 1], [0], 3)


def test_no_answers_yet_gives_an_all_zero_matrix():
    cm = confusion_matrix([], [], 3)
    assert cm.shape == (3, 3) and cm.sum() == 0 and top_confusions(cm) == []
