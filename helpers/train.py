"""Classifier heads on cached features, full models, and fine-tuning.

Introduced in notebook 01 (a head on frozen features) and notebook 02
(fine-tuning the top of the backbone).
"""

from __future__ import annotations

import contextlib
import json
import time
import zipfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from helpers.backbones import get_backbone, input_size


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow in one call. Notebook 01."""
    keras.utils.set_random_seed(seed)


def make_head(num_features: int, num_classes: int, dropout: float = 0.2,
              name: str = "head") -> keras.Model:
    """Dropout and one softmax layer on pooled features. Notebook 01."""
    return keras.Sequential([
        keras.Input(shape=(num_features,), name="features"),
        keras.layers.Dropout(dropout, name="head_dropout"),
        keras.layers.Dense(num_classes, activation="softmax", name="head_dense"),
    ], name=name)


def _metrics(num_classes):
    metrics = ["accuracy"]
    if num_classes > 5:
        metrics.append(keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3"))
    return metrics


def train_head(x_train, y_train, x_val, y_val, num_classes, epochs=30, batch_size=32,
               learning_rate=1e-3, dropout=0.2, seed=42, verbose=0):
    """Train a head on cached features; returns ``(head, history, seconds)``. Notebook 01.

    Keeps the weights of the epoch with the best validation loss.
    """
    set_seed(seed)
    head = make_head(x_train.shape[1], num_classes, dropout)
    head.compile(optimizer=keras.optimizers.Adam(learning_rate),
                 loss="sparse_categorical_crossentropy", metrics=_metrics(num_classes))
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=8,
                                         restore_best_weights=True)
    start = time.perf_counter()
    history = head.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                       batch_size=batch_size, callbacks=[stop], verbose=verbose)
    return head, history, time.perf_counter() - start


def default_strategy():
    """MirroredStrategy on a machine with several GPUs, else the default one. Notebook 02."""
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def augmentation(seed=42) -> keras.Sequential:
    """Random flips, small rotations and zooms, active only in training. Notebook 02."""
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(0.05, seed=seed),
        keras.layers.RandomZoom(0.1, seed=seed),
    ], name="augmentation")


def build_classifier(head: keras.Model, backbone_name="efficientnet_lite0",
                     image_size=None, augment=None,
                     strategy=None) -> tuple[keras.Model, keras.Model]:
    """Image in 0..255 -> (augmentation) -> backbone (inference mode) -> head.

    Built inside ``strategy.scope()`` when a strategy is given. The backbone is
    called with ``training=False``: its BatchNorm layers keep their ImageNet
    statistics even when its weights are unfrozen for fine-tuning. Returns
    ``(model, backbone)``; the backbone starts frozen. Notebooks 01-02.
    """
    image_size = image_size or input_size(backbone_name)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        backbone = get_backbone(backbone_name, include_top=False,
                                input_shape=(image_size, image_size, 3))
        backbone.trainable = False
        new_head = keras.models.clone_model(head)
        new_head.set_weights(head.get_weights())
        inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
        x = augment(inputs) if augment is not None else inputs
        x = backbone(x, training=False)
        outputs = new_head(x)
        model = keras.Model(inputs, outputs, name=f"{backbone_name}_classifier")
    return model, backbone


def unfreeze_top(backbone: keras.Model, from_layer: str) -> int:
    """Make the layers from ``from_layer`` to the end trainable, BatchNorm excepted.
    Returns the number of trainable weight tensors. Notebook 02."""
    backbone.trainable = True
    names = [layer.name for layer in backbone.layers]
    if from_layer not in names:
        raise ValueError(f"{from_layer!r} is not a layer of {backbone.name}; "
                         f"e.g. {', '.join(n for n in names if n.endswith('expand_conv'))}")
    start = names.index(from_layer)
    for i, layer in enumerate(backbone.layers):
        frozen = i < start or isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = not frozen
    return len(backbone.trainable_weights)


def compile_classifier(model, learning_rate, num_classes, strategy=None):
    """(Re)compile: a changed ``trainable`` flag only takes effect after this. Notebook 02."""
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                      loss="sparse_categorical_crossentropy", metrics=_metrics(num_classes))
    return model


def fit_with_checkpoint(model, train_ds, val_ds, epochs, checkpoint: Path, patience=3,
                        verbose=0):
    """Fit, keep the best weights by validation loss (in ``checkpoint``, a
    ``.weights.h5`` file) and stop early. The weights before training count as a
    candidate too, so the result is never worse on validation than the start.
    Returns ``(history_dict, seconds)``; ``history_dict["start"]`` holds the
    validation metrics before training. Notebook 02."""
    checkpoint = Path(checkpoint)
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    start_metrics = model.evaluate(val_ds, verbose=0, return_dict=True)
    strategy = getattr(model, "distribute_strategy", None) or tf.distribute.get_strategy()
    with strategy.scope():  # the optimizer's state is saved and restored with the weights
        model.optimizer.build(model.trainable_variables)
    model.save_weights(checkpoint)
    keep = keras.callbacks.ModelCheckpoint(
        checkpoint, monitor="val_loss", save_best_only=True, save_weights_only=True,
        initial_value_threshold=start_metrics["loss"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)
    t0 = time.perf_counter()
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, shuffle=False,
                        callbacks=[keep, stop], verbose=verbose)  # the pipeline shuffles
    seconds = time.perf_counter() - t0
    model.load_weights(checkpoint)
    return {**history.history, "start": start_metrics}, seconds


def evaluate_probs(model, files, image_size=None, batch_size=32) -> np.ndarray:
    """Class probabilities of a full model on image files (tf.data, tf.function).
    ``image_size`` defaults to the model's input size. Notebook 02, the grader."""
    from helpers.features import extract_features

    image_size = image_size or model.input_shape[1]
    return extract_features(model, files, image_size, batch_size, progress=False)


def save_classifier(model: keras.Model, path, class_names) -> Path:
    """Save a full classifier as ``.keras`` with its class names inside. Notebook 01."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    # class names travel in a JSON entry inside the .keras zip archive
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("class_names.json", json.dumps(list(class_names)))
    return path


def load_classifier(path) -> tuple[keras.Model, list[str] | None]:
    """Load a ``.keras`` classifier and the class names saved with it. Notebook 01."""
    import helpers.preprocess  # noqa: F401  (registers ImagePreprocess)

    path = Path(path)
    model = keras.models.load_model(path, compile=False)
    names = None
    with zipfile.ZipFile(path) as zf:
        if "class_names.json" in zf.namelist():
            names = json.loads(zf.read("class_names.json"))
    return model, names


def linear_head(classifier, name: str = "head") -> keras.Model:
    """A Keras softmax head with the weights of a fitted scikit-learn
    ``LogisticRegression``: the same predictions, ready to join a backbone in
    :func:`build_classifier`. The lab."""
    coef = np.asarray(classifier.coef_, dtype="float32")
    bias = np.asarray(classifier.intercept_, dtype="float32")
    if coef.shape[0] == 1:  # two classes: sigmoid(w.x + b) == softmax([-(w.x+b)/2, (w.x+b)/2])
        coef, bias = np.concatenate([-coef / 2, coef / 2]), np.concatenate([-bias / 2, bias / 2])
    head = keras.Sequential([
        keras.Input(shape=(coef.shape[1],), name="features"),
        keras.layers.Dense(coef.shape[0], activation="softmax", name="head_dense"),
    ], name=name)
    head.get_layer("head_dense").set_weights([coef.T, bias])
    return head
