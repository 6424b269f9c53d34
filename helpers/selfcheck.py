"""Code checks, as otter-grader's ``grader.check``: a student writes a few lines in a
notebook and a check says what is right or names what is wrong (issue #35).

Each check takes what the student's cell left (``None`` while the cell is still
a stub: then it says "not done yet" and the notebook goes on), prints one verdict
and returns it: ``"Right: ..."`` or a list of the mistakes it found, each with
the fix. It never raises on a wrong answer, so a notebook run by nbval passes
with the stub in place. Introduced in notebook 01.
"""

from __future__ import annotations

import numpy as np

NOT_DONE = ("Not done yet: fill in the cell above (replace its None or its TODO), then run "
            "this one again.")


def _say(message) -> str:
    print(message)
    return message


def _verdict(problems, right) -> str:
    message = right if not problems else "Not yet:\n" + "\n".join(f"- {p}" for p in problems)
    print(message)
    return message


def _layers(model):
    """Every layer of ``model``, nested models' layers included."""
    out = []
    for layer in model.layers:
        out.append(layer)
        if hasattr(layer, "layers"):
            out += _layers(layer)
    return out


def _outputs_problems(model, num_classes, what="classes") -> list:
    """The model must give one probability per class for each image."""
    import keras

    shape = tuple(model.output_shape[1:])
    if len(shape) > 1:
        return [f"it gives outputs of shape {shape} per image; there are {num_classes} {what}: "
                "pool the feature maps (GlobalAveragePooling2D or Flatten) before the last Dense"]
    if shape != (num_classes,):
        return [f"the head gives {shape[0] if shape else 0} outputs; there are {num_classes} "
                f"{what}: the last layer must be Dense({num_classes}, ...)"]
    size = [224 if s is None else s for s in model.input_shape[1:]]
    probs = keras.ops.convert_to_numpy(model(np.zeros((1, *size), "float32"), training=False))
    if probs.min() < 0 or abs(probs.sum() - 1) > 1e-3:
        return ["the outputs are not probabilities: end with activation=\"softmax\""]
    return []


def frozen_head(model, backbone, num_classes) -> str:
    """Notebook 01: ``model`` is ``backbone``, frozen, with a new head of
    ``num_classes`` probabilities on top."""
    if model is None or backbone is None:
        return _say(NOT_DONE)
    problems = []
    if backbone.trainable_weights:
        problems.append(f"the backbone is not frozen: {len(backbone.trainable_weights)} of its "
                        "weight tensors would change in training (set backbone.trainable = False)")
    if not any(layer is backbone for layer in _layers(model)):
        problems.append("the model does not use this backbone: call it on the model's input")
    if not model.trainable_weights:
        problems.append("nothing in the model is trainable: the head must be")
    else:
        problems += _outputs_problems(model, num_classes)
    return _verdict(problems, f"Right: a frozen backbone and a trainable head of {num_classes} "
                              f"classes ({len(model.trainable_weights)} trainable weight tensors).")


def unfrozen(backbone, from_layer) -> str:
    """Notebook 02: the layers of ``backbone`` from ``from_layer`` on are trainable,
    the ones before it frozen, and every BatchNormalization layer frozen."""
    import keras

    if backbone is None:
        return _say(NOT_DONE)
    names = [layer.name for layer in backbone.layers]
    if from_layer not in names:
        return _verdict([f"the backbone has no layer {from_layer!r}"], "")
    start = names.index(from_layer)
    problems = []
    batchnorm = [layer.name for layer in backbone.layers
                 if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable_weights]
    if batchnorm:
        problems.append(f"{len(batchnorm)} BatchNormalization layers are trainable (first: "
                        f"{batchnorm[0]}): keep them frozen, or fine-tuning re-learns ImageNet's "
                        "statistics on a few photos")
    early = [layer.name for layer in backbone.layers[:start] if layer.trainable_weights]
    if early:
        problems.append(f"{len(early)} layers before {from_layer} are trainable (first: "
                        f"{early[0]}): only the top should learn")
    frozen = [layer.name for layer in backbone.layers[start:] if layer.weights
              and not layer.trainable_weights
              and not isinstance(layer, keras.layers.BatchNormalization)]
    if frozen:
        problems.append(f"{len(frozen)} layers from {from_layer} on are still frozen (first: "
                        f"{frozen[0]}): set backbone.trainable = True first")
    return _verdict(problems, f"Right: {len(backbone.trainable_weights)} trainable weight tensors "
                              f"from {from_layer} on, every BatchNormalization layer frozen.")


def total_variation(fn) -> str:
    """Notebook 03: ``fn(images)`` is the summed absolute difference between
    neighbouring pixels, down and across, of a batch (n, h, w, c)."""
    import keras

    if fn is None:
        return _say(NOT_DONE)
    images = np.random.default_rng(0).uniform(0, 255, (2, 6, 5, 3)).astype("float32")
    down = np.abs(np.diff(images, axis=1))
    across = np.abs(np.diff(images, axis=2))
    right = down.sum() + across.sum()
    try:
        value = float(keras.ops.convert_to_numpy(fn(keras.ops.convert_to_tensor(images))))
    except Exception as e:  # the student's code: say what it raised
        return _verdict([f"it raised {e.__class__.__name__}: {e}"], "")
    guesses = {
        float(down.sum()): "only the differences down the image: add those across",
        float(across.sum()): "only the differences across the image: add those down",
        float((np.diff(images, axis=1) ** 2).sum() + (np.diff(images, axis=2) ** 2).sum()):
            "squared differences: total variation sums their absolute values",
        float(down.mean() + across.mean()): "a mean: the course's total_variation is a sum",
        float(np.diff(images, axis=1).sum() + np.diff(images, axis=2).sum()):
            "signed differences cancel out: take their absolute values",
    }
    if abs(value - right) <= 1e-3 * right:
        return _verdict([], f"Right: {value:.1f} on a random batch of 2 images.")
    for wrong, why in guesses.items():
        if abs(value - wrong) <= 1e-3 * max(abs(wrong), 1):
            return _verdict([why], "")
    return _verdict([f"{value:.1f} on a random batch, where total variation is {right:.1f}"], "")


def fgsm_step(original, adversarial, epsilon, model=None, target=None) -> str:
    """Notebook 04: ``adversarial`` is one FGSM step toward ``target`` from
    ``original`` (0..255, same shape): every pixel within ``epsilon``, in 0..255,
    and p(target) higher than before."""
    import keras

    if adversarial is None:
        return _say(NOT_DONE)
    adversarial = np.asarray(keras.ops.convert_to_numpy(adversarial), "float32")
    original = np.asarray(original, "float32")
    if adversarial.shape != original.shape:
        return _verdict([f"the image has shape {adversarial.shape}, the photo {original.shape}"], "")
    problems = []
    moved = float(np.abs(adversarial - original).max())
    if moved == 0:
        problems.append("no pixel changed: take a step of size epsilon along the gradient's sign")
    if moved > epsilon + 1e-3:
        problems.append(f"a pixel moved by {moved:.2f}, more than epsilon = {epsilon}: step by "
                        "epsilon times the sign of the gradient, not the gradient itself")
    if adversarial.min() < 0 or adversarial.max() > 255:
        problems.append("pixels left 0..255: clip the image after the step")
    if model is not None and target is not None and moved > 0 and not problems:
        p = [float(keras.ops.convert_to_numpy(model(x[None], training=False))[0, target])
             for x in (original, adversarial)]
        if p[1] <= p[0]:
            problems.append(f"p(target) fell from {p[0]:.4f} to {p[1]:.4f}: step against the "
                            "gradient of the loss -log p(target), not along it")
    return _verdict(problems, f"Right: every pixel within {epsilon:g} of the photo "
                              f"(largest change {moved:g}).")


def scratch_model(model, input_shape, num_classes) -> str:
    """Notebook 05: ``model`` is a CNN for ``input_shape`` images and
    ``num_classes`` classes that learns every weight from scratch."""
    import keras

    if model is None:
        return _say(NOT_DONE)
    problems = []
    if tuple(model.input_shape[1:]) != tuple(input_shape):
        problems.append(f"it takes {model.input_shape[1:]}, the images are {tuple(input_shape)}")
    else:
        problems += _outputs_problems(model, num_classes)
    if not any(isinstance(layer, keras.layers.Conv2D) for layer in _layers(model)):
        problems.append("no Conv2D layer: a CNN learns its filters")
    frozen = [layer.name for layer in _layers(model) if layer.weights and not layer.trainable
              and not hasattr(layer, "layers")]
    if frozen:
        problems.append(f"{len(frozen)} layers are frozen (first: {frozen[0]}): from scratch, "
                        "every weight learns")
    return _verdict(problems, f"Right: a CNN of {model.count_params():,} weights, all of them "
                              "trained from scratch.")


def hand_in(model, class_names) -> str:
    """The lab: ``model`` is a file the grader accepts: square RGB photos in,
    one probability per breed out, Keras' own layers only."""
    import keras

    if model is None:
        return _say(NOT_DONE)
    problems = []
    shape = model.input_shape
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3:
        problems.append(f"it takes {shape}: the grader sends square RGB photos (n, s, s, 3)")
    elif not 16 <= (shape[1] or 0) <= 384:
        problems.append(f"it takes {shape[1]} px photos: the grader allows 16 to 384")
    if tuple(model.output_shape[1:]) != (len(class_names),):
        problems.append(f"it gives outputs of shape {tuple(model.output_shape[1:])} for "
                        f"{len(class_names)} breeds")
    lambdas = [layer.name for layer in _layers(model) if isinstance(layer, keras.layers.Lambda)]
    if lambdas:
        problems.append(f"Lambda layers ({', '.join(lambdas)}) hold Python code, which the "
                        "grader refuses: use Keras' own layers")
    foreign = [layer.name for layer in _layers(model)
               if not type(layer).__module__.startswith("keras") and not hasattr(layer, "layers")]
    if foreign:
        problems.append(f"layers of classes from outside Keras ({', '.join(foreign)}): the grader "
                        "refuses them; use Keras' own layers")
    stateful = [layer.name for layer in _layers(model) if getattr(layer, "stateful", False)]
    if stateful:
        problems.append(f"stateful layers ({', '.join(stateful)}): a model must not remember "
                        "earlier photos")
    return _verdict(problems, f"Right: {shape[1]} px photos in, {len(class_names)} breed "
                              "probabilities out, Keras' own layers only.")
