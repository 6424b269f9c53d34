"""Classifier heads on cached features, full models, and fine-tuning.

Introduced in notebook 01 (a head on frozen features) and notebook 02
(fine-tuning the top of the backbone).
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import keras
import numpy as np

from helpers.models import backbones


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow in one call. Notebook 01."""
    keras.utils.set_random_seed(seed)


# Notebook 01's `#@save` cells: edit them there, then run `python -m helpers save`.

def make_head(num_features, num_classes, dropout=0.2, name="head"):
    """The new classifier: dropout, then one softmax layer, on pooled features.
    Notebook 01."""
    return keras.Sequential([
        keras.Input(shape=(num_features,), name="features"),
        keras.layers.Dropout(dropout, name="head_dropout"),
        keras.layers.Dense(num_classes, activation="softmax", name="head_dense"),
    ], name=name)


def train_head(x_train, y_train, x_val, y_val, num_classes, epochs=30, batch_size=32,
               learning_rate=1e-3, dropout=0.2, seed=42, verbose=0):
    """Fit a head on cached features, keeping the epoch with the best validation
    loss. Returns ``(head, history, seconds)``. Notebook 01."""
    keras.utils.set_random_seed(seed)
    head = make_head(x_train.shape[1], num_classes, dropout)
    head.compile(optimizer=keras.optimizers.Adam(learning_rate),
                 loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=8,
                                         restore_best_weights=True)
    start = time.perf_counter()
    history = head.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                       batch_size=batch_size, callbacks=[stop], verbose=verbose)
    return head, history, time.perf_counter() - start


def build_classifier(head, backbone_name="efficientnet_lite0", image_size=None, augment=None):
    """Photo (0..255) -> augmentation -> frozen backbone in inference mode -> head.
    Returns ``(model, backbone)``. Notebooks 01 and 02."""
    image_size = image_size or backbones.input_size(backbone_name)
    backbone = backbones.get_backbone(backbone_name, include_top=False,
                                      input_shape=(image_size, image_size, 3))
    backbone.trainable = False                 # freeze every pretrained weight
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = augment(inputs) if augment is not None else inputs
    x = backbone(x, training=False)            # BatchNorm keeps ImageNet's statistics
    outputs = head(x)
    return keras.Model(inputs, outputs, name=f"{backbone_name}_classifier"), backbone


# Notebook 02's `#@save` cells: edit them there, then run `python -m helpers save`.

def augmentation(seed=42):
    """Random flips, small rotations and zooms; active only while training. Notebook 02."""
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(0.05, seed=seed),
        keras.layers.RandomZoom(0.1, seed=seed),
    ], name="augmentation")


def unfreeze_top(backbone, from_layer):
    """Make the layers from ``from_layer`` to the end trainable, except BatchNorm.
    Returns the number of trainable weight tensors. Notebook 02."""
    backbone.trainable = True
    names = [layer.name for layer in backbone.layers]
    if from_layer not in names:
        # a keras.applications backbone sits one level down, behind its preprocessing
        inner = [layer for layer in backbone.layers
                 if from_layer in [sub.name for sub in getattr(layer, "layers", [])]]
        if not inner:
            raise ValueError(f"{backbone.name} has no layer {from_layer!r}: see backbone.summary()")
        return unfreeze_top(inner[0], from_layer)
    start = names.index(from_layer)
    for i, layer in enumerate(backbone.layers):
        is_batchnorm = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = i >= start and not is_batchnorm
    return len(backbone.trainable_weights)


def evaluate_probs(model, files, image_size=None, batch_size=32) -> np.ndarray:
    """Class probabilities of a full model on image files (tf.data, compiled inference).
    ``image_size`` defaults to the model's input size. Notebook 02, the grader."""
    from helpers.models.features import extract_features

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
