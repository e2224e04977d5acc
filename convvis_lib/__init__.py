"""convvis_lib: helpers for the Korean CS231n 'Visualizing what ConvNets learn' course book.

The public API, in one place. Layers go bottom-up; a module imports only from layers below it (drawing imports
computing, never the other way round), and each technique's reference function fits on a screen with its paper
in the docstring. Chapters call ``text.show_source(fn)`` to show that very code.

Core (``import convvis_lib as cv`` re-exports the names marked *)
    errors           ConvVisError*, WeightsUnavailableError*, DataUnavailableError*, choice_error
    models           load_model*, load_model_or_fallback*, ModelInfo*, MODEL_NAMES*, get_module*, load_safetensors
    fashionnet, efficientnet_lite   the two offline architectures (FashionNet, EfficientNetLite0)
    data, samples, imageio          Fashion-MNIST, bundled photos: examples_for*, labelled_photos*, photo_crops*,
                                    samples.cat_and_coffee (two objects in one image),
                                    load_image*
    preprocess       preprocess*, deprocess*, check_input*
    pixels           to_pixels, normalize_pixels, from_normalized, pixel_bounds, gaussian_blur
    hooks            capture_activations*, capture_gradients*, get_activations*, eval_mode*, model_device,
                     default_batch_size, PIXELS
    targets          ClassTarget, UnitTarget, class_targets: what a score or a map is *of*
    predict          class_probabilities, predict_labels
    metrics          confusion_matrix, top_confusions
    threads, net     threads_for (small CPU work on one thread), keep_freed_memory (glibc malloc),
                     can_reach (bounded network check)

Techniques (compute only: tensors and arrays in, tensors and arrays out; reference function first)
    activations      ch. 1   dead_channels, filter_weights
    receptive_field  ch. 1-2 receptive_field, gradient_receptive_field
    maxact           ch. 2   top_k (one streaming pass), top_boxes
    embedding        ch. 3   layer_codes, tsne (openTSNE), grid_cells (gridsnap: the blocked assignment), knn_accuracy
    occlusion        ch. 4   occlusion_scan, occlusion_map
    gradients        ch. 5   input_gradient + relu_rule (saliency, guided_backprop, deconvnet),
                             class_model_visualization
    inversion        ch. 6   invert_code, invert
    correspondence   ch. 7   match_points, pair_pck
    attributes       ch. 8   apply_attribute, attribute_sweep, accepted_sweeps
    adversarial      ch. 9   fgsm, targeted_attack, fgsm_sweep
    humans           ch. 10  make_quiz, LabelQuiz, the published human baseline
    gradcam          ch. 11  grad_cam, guided_grad_cam
    explain, faithfulness, sanity   ch. 11  explanation(s), deletion/insertion curves, cascading_randomization

Drawing and UI
    plot             setup_figures, figure_image, one_axes (plot.figure: font, dpi, recorded text sizes), image_grid,
                     filter_grid, heatmap_overlay, minmax_scale (plot.images), METHOD_LABELS, and one drawing
                     module per technique: plot.occlusion, plot.gradients, plot.maxact, plot.embedding,
                     plot.correspondence, plot.attributes, plot.adversarial, plot.humans, plot.explain
    widgets          explore, choice, layer_dropdown, class_dropdown, method_dropdown, image_dropdown
                     (widgets.explorer: live in a kernel, pre-rendered in the book); widgets.quiz (chapter 10's quiz)
    text             table, glue, show_source
    train            ``python -m convvis_lib.train`` retrains fashionnet
"""
from __future__ import annotations

import os

import torch

from .data import FASHION_CLASSES_EN, FASHION_CLASSES_KO, fashion_images, load_fashion_mnist, load_sample, sample_photo
from .errors import ConvVisError, DataUnavailableError, WeightsUnavailableError
from .imageio import load_image
from .hooks import capture_activations, capture_gradients, eval_mode, get_activations
from .models import MODEL_NAMES, ModelInfo, get_module, load_model, load_model_or_fallback
from .preprocess import check_input, deprocess, preprocess
from .samples import examples_for, labelled_photos, photo_crops

__version__ = "0.1.0"
DEVICE_ENV = "CONVVIS_DEVICE"


def default_device() -> torch.device:
    """``$CONVVIS_DEVICE`` if set, else CUDA when available, else CPU."""
    if os.environ.get(DEVICE_ENV):
        return torch.device(os.environ[DEVICE_ENV])
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def setup(seed: int = 0) -> torch.device:
    """Notebook start-up: Korean font and one dpi for figures, fixed seeds, freed tensor memory kept for
    reuse (:func:`convvis_lib.threads.keep_freed_memory`); returns the device to use."""
    from .plot import setup_figures
    from .threads import keep_freed_memory
    setup_figures()
    keep_freed_memory()
    torch.manual_seed(seed)
    import numpy as np
    np.random.seed(seed)
    return default_device()


__all__ = [
    "FASHION_CLASSES_EN", "FASHION_CLASSES_KO", "MODEL_NAMES", "ConvVisError", "DataUnavailableError",
    "ModelInfo", "WeightsUnavailableError", "capture_activations", "capture_gradients", "check_input",
    "default_device", "deprocess", "eval_mode", "examples_for", "fashion_images", "get_activations",
    "get_module", "labelled_photos", "load_fashion_mnist", "load_image", "load_model", "load_model_or_fallback",
    "load_sample", "photo_crops", "preprocess",
    "sample_photo", "setup",
]
