"""Three ways to learn a new kind of image, on arrays: from scratch, frozen
features, and fine-tuning the top blocks. Introduced in notebook 05.

The backbone is cut in two at a block boundary (:func:`split_backbone`). The
bottom runs once over every image and its activations are cached
(:func:`cached_activations`); everything after that reads the cache:

* **frozen features**: the top, frozen, turns activations into pooled
  features, and a softmax head learns on them;
* **fine-tuning**: the top's weights are trained too (BatchNorm kept in
  inference mode), starting from that head, with a small learning rate and
  early stopping on validation images;

so fine-tuning the last blocks costs seconds an epoch on a CPU, not a pass over
the whole network. (Without augmentation: the cached activations are fixed.)
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

from helpers import cache
from helpers.models import backbones
from helpers.models.features import run_in_batches, slices

CUTS = {"efficientnet_lite0": "block10_add"}   # the input of the last two stages
ACTIVATIONS_VERSION = "v1"


# Notebook 05's `#@save` cells: edit them there, then run `python -m helpers save`.

def split_backbone(name="efficientnet_lite0", image_size=224, cut=None):
    """The backbone cut in two at layer ``cut``: ``bottom`` (image -> activations)
    and ``top`` (activations -> pooled features), sharing the pretrained weights.
    Notebook 05."""
    full = backbones.get_backbone(name, include_top=False,
                                  input_shape=(image_size, image_size, 3))
    middle = full.get_layer(cut or CUTS[name]).output
    bottom = keras.Model(full.input, middle, name=f"{name}_bottom")
    top = keras.Model(middle, full.output, name=f"{name}_top")
    return bottom, top


def as_images(x, size: int) -> np.ndarray:
    """uint8 arrays (N, H, W, 1 or 3) as float RGB in 0..255 at ``size`` (antialiased
    when shrinking, bilinear when growing), as a NumPy array (TensorFlow resizes, on
    any backend: plumbing, not the lesson)."""
    x = tf.cast(tf.convert_to_tensor(x), tf.float32)
    if x.shape[-1] == 1:
        x = tf.repeat(x, 3, axis=-1)
    if x.shape[1] != size or x.shape[2] != size:
        x = tf.image.resize(x, (size, size), method="bilinear", antialias=True)
    return x.numpy()


def cached_activations(name, x, image_size, cut=None, progress=True, bottom=None) -> np.ndarray:
    """The bottom's activations of uint8 images ``x`` at ``image_size``, computed once
    and cached (float16) under the course cache, keyed by the pixels themselves and the
    Keras backend (a PyTorch run computes its own, never TensorFlow's)."""
    cut = cut or CUTS[name]
    path = cache.entry("activations", f"{name}-{image_size}-{keras.backend.backend()}",
                       cut, x.shape, ACTIVATIONS_VERSION, data=x, suffix=".npy")

    def compute():
        nonlocal bottom
        if bottom is None:
            bottom, _ = split_backbone(name, image_size, cut)
        batches = slices(x, 64, lambda b: as_images(b, image_size))
        acts = run_in_batches(bottom, batches, total=-(-len(x) // 64), progress=progress,
                              desc="activations")
        return acts.astype(np.float16)
    return cache.cached(path, compute)


def pooled(top, activations, batch_size=256) -> np.ndarray:
    """Frozen features: the top over cached activations."""
    # float16 to float32 in NumPy: TensorFlow's cast of half floats logs a oneDNN
    # notice on CPUs without AVX-512
    return run_in_batches(top, slices(activations, batch_size,
                                      lambda b: np.asarray(b, np.float32)))


def balanced_weights(y) -> dict[int, float]:
    """Class weights that make every class count as much in the loss, as Keras'
    ``fit(class_weight=...)`` wants them: scikit-learn's ``"balanced"`` weights,
    ``n / (classes * count)``. Notebook 05."""
    from sklearn.utils.class_weight import compute_class_weight

    classes = np.unique(y)
    return dict(zip(classes.tolist(), compute_class_weight("balanced", classes=classes, y=y)))


def fit_best(model, x, y, x_val, y_val, epochs, batch_size, patience, seed, class_weight=None):
    """``model.fit`` with early stopping that keeps the epoch with the best validation
    loss (as notebook 01 fits its head). Returns ``(history_dict, seconds)``. Notebook 05."""
    keras.utils.set_random_seed(seed)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                         restore_best_weights=True)
    start = time.perf_counter()
    history = model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs,
                        batch_size=batch_size, callbacks=[stop], class_weight=class_weight,
                        verbose=2)   # one line per epoch
    return history.history, time.perf_counter() - start


def frozen_head(features, y, groups=None, c_values=(0.03, 0.1, 0.3), folds=3, seed=0):
    """A logistic-regression head (scikit-learn) on frozen features, its regularisation
    ``C`` chosen by cross-validation on the training features alone (``folds`` parts,
    scored by balanced accuracy, the mean of the classes' recalls; a group, such as
    one child's X-rays, stays in one part), so that no choice of it sees the
    validation images; classes weigh equally. Returns ``(head, C, seconds)``, ``head``
    a Keras softmax layer with the fitted weights (``train.linear_head``). Notebook 05."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    from helpers.lessons.train import linear_head

    start = time.perf_counter()
    parts = (StratifiedKFold(folds, shuffle=True, random_state=seed) if groups is None
             else StratifiedGroupKFold(folds, shuffle=True, random_state=seed))
    clf = LogisticRegressionCV(Cs=sorted(c_values), cv=parts.split(features, y, groups),
                               scoring="balanced_accuracy", class_weight="balanced", l1_ratios=(0.0,),
                               use_legacy_attributes=False,
                               max_iter=2000, tol=1e-3).fit(features, y)
    return linear_head(clf), float(clf.C_), time.perf_counter() - start


def fine_tune(top, head, acts, y, val_acts, y_val, epochs=8, learning_rate=1e-4,
              batch_size=64, patience=2, seed=0):
    """Train copies of the top blocks (BatchNorm frozen, in inference mode) and the
    head together on cached activations; keep the epoch with the best validation
    loss. Returns ``(model, history, seconds)``: activations in, probabilities out.
    Notebook 05."""
    top_copy, head_copy = keras.models.clone_model(top), keras.models.clone_model(head)
    top_copy.set_weights(top.get_weights())        # start from the pretrained top ...
    head_copy.set_weights(head.get_weights())      # ... and the frozen features' head
    for layer in top_copy.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    inputs = keras.Input(acts.shape[1:], name="activations")
    outputs = head_copy(top_copy(inputs, training=False))
    model = keras.Model(inputs, outputs, name="fine_tuned")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history, seconds = fit_best(model, acts.astype("float32"), y, val_acts.astype("float32"),
                                y_val, epochs, batch_size, patience, seed, balanced_weights(y))
    return model, history, seconds


def scratch_cnn(input_shape, num_classes, width=16, seed=0):
    """A small CNN trained from scratch (the article's "classic training"): three
    blocks of two 3x3 convolutions, each block halving the image. Notebook 05."""
    keras.utils.set_random_seed(seed)
    x = inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Rescaling(1 / 255)(x)
    for i, filters in enumerate((width, 2 * width, 4 * width)):
        for j in range(2):
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False,
                                    name=f"conv{i}_{j}")(x)
            # momentum 0.9: with a few dozen steps an epoch, the default 0.99
            # would leave BatchNorm's statistics near their starting values
            x = keras.layers.BatchNormalization(momentum=0.9)(x)
            x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="scratch_cnn")


def train_scratch(x, y, x_val, y_val, num_classes, size=None, epochs=15, batch_size=128,
                  learning_rate=3e-3, patience=3, seed=0):
    """:func:`scratch_cnn` on uint8 arrays (resized to ``size`` when given), compiled
    and fitted. Returns ``(model, history, seconds)``, the best epoch by validation
    loss kept. Notebook 05."""
    size = size or x.shape[1]
    xs, xv = as_pixels(x, size), as_pixels(x_val, size)
    model = scratch_cnn(xs.shape[1:], num_classes, seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history, seconds = fit_best(model, xs, y, xv, y_val, epochs, batch_size, patience, seed,
                                balanced_weights(y))
    return model, history, seconds


def predict_scratch(model, x, batch_size=256) -> np.ndarray:
    """Class probabilities of a scratch CNN on uint8 arrays."""
    size = model.input_shape[1]
    return run_in_batches(model, slices(x, batch_size, lambda b: as_pixels(b, size)))


def as_pixels(x, size) -> np.ndarray:
    """uint8 arrays as float32 at ``size``, keeping their channels (grey stays grey).
    Notebook 05."""
    x = tf.cast(tf.convert_to_tensor(x), tf.float32)
    if x.shape[1] != size:
        x = tf.image.resize(x, (size, size), method="bilinear", antialias=True)
    return x.numpy()


def image_model(inner, input_shape, size, name, rgb=True) -> keras.Model:
    """A model on the domain's own images (uint8 values, any channels): grey to RGB
    (when ``rgb``), resized to ``size``, then ``inner`` (bottom, top and head), in
    Keras' own layers, so that it saves and loads anywhere. Notebook 05."""
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    if rgb and input_shape[-1] == 1:
        x = keras.layers.Concatenate(name="grey_to_rgb")([x, x, x])
    if input_shape[0] != size:
        x = keras.layers.Resizing(size, size, interpolation="bilinear", antialias=True,
                                  name="resize")(x)
    return keras.Model(inputs, inner(x), name=name)


def three_ways(train, val, test, size, backbone="efficientnet_lite0", fine_tune_epochs=3,
               scratch_epochs=10, scratch_size=None, seed=0, progress=True) -> dict:
    """Notebook 05's comparison on one domain (:class:`helpers.data.arrays.ArrayData` parts):
    a CNN from scratch, frozen features + head, and fine-tuned top blocks, each
    trained on ``train`` (``val`` only stops the training) and measured once on
    ``test``. Returns, per method, :func:`scores` (test accuracy, balanced accuracy
    on ``val``, the figure to choose a method by, and on ``test``, seconds,
    predictions) and a model on the domain's own images. Notebook 05."""
    n, shape, out = len(train.class_names), train.x.shape[1:], {}
    start = time.perf_counter()                                  # (a) from scratch
    scratch, _, _ = train_scratch(train.x, train.y, val.x, val.y, n, size=scratch_size,
                                  epochs=scratch_epochs, seed=seed)
    s_size = scratch.input_shape[1]
    out["from scratch"] = scores(
        test, val, *(predict_scratch(scratch, d.x).argmax(1) for d in (test, val)), start,
        model=scratch if s_size == shape[0] else image_model(scratch, shape, s_size,
                                                             "scratch", rgb=False))
    start = time.perf_counter()                                  # (b) frozen features
    bottom, top = split_backbone(backbone, size)
    acts = {part: cached_activations(backbone, data.x, size, progress=progress, bottom=bottom)
            for part, data in (("train", train), ("val", val), ("test", test))}
    feats = {part: pooled(top, a) for part, a in acts.items()}
    head, c, _ = frozen_head(feats["train"], train.y, train.groups, seed=seed)
    frozen = keras.Sequential([bottom, top, head], name="frozen")
    out["frozen features"] = scores(
        test, val, *(head.predict(feats[p], verbose=0).argmax(1) for p in ("test", "val")),
        start, C=c, bottom=bottom, scorer=keras.Sequential([top, head]),
        model=image_model(frozen, shape, size, "frozen"))
    start = time.perf_counter()                                  # (c) fine-tuned top
    tuned, history, _ = fine_tune(top, head, acts["train"], train.y, acts["val"], val.y,
                                  epochs=fine_tune_epochs, seed=seed)
    full = keras.Sequential([bottom, tuned], name="fine_tuned")
    out["fine-tuned top"] = scores(
        test, val, *(predict_acts(tuned, acts[p]) for p in ("test", "val")), start,
        history=history, bottom=bottom, scorer=tuned,
        model=image_model(full, shape, size, "fine_tuned"))
    return out


def scores(test, val, pred, val_pred, start, **more) -> dict:
    """One method's figures: test accuracy with its interval, balanced accuracy on the
    validation and the test images, predictions, seconds since ``start``, and
    ``more``. Notebook 05's plumbing."""
    from helpers.lessons.metrics import accuracy, balanced_accuracy

    return dict(accuracy=accuracy(test.y, pred), pred=pred,
                val_balanced=balanced_accuracy(val.y, val_pred),
                test_balanced=balanced_accuracy(test.y, pred),
                seconds=time.perf_counter() - start, **more)


def predict_acts(model, acts, batch_size=256) -> np.ndarray:
    """The classes ``model`` (activations in, probabilities out) predicts for cached
    activations, in batches, compiled. Notebook 05's plumbing."""
    return run_in_batches(model, slices(acts, batch_size,
                                        lambda b: b.astype("float32"))).argmax(1)
