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
    import keras

    if model is None or backbone is None:
        return _say(NOT_DONE)
    problems = []
    if backbone.trainable_weights:
        problems.append(f"the backbone is not frozen: {len(backbone.trainable_weights)} of its "
                        "weight tensors would change in training (set backbone.trainable = False)")
    top = [layer for layer in _layers(backbone) if isinstance(layer, keras.layers.Dense)]
    if top:
        problems.append(f"the backbone still has its classifier on top ({top[-1].name}, "
                        f"{top[-1].units} classes): your head would read class probabilities, "
                        "not features; load it with include_top=False")
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
    if not backbone.trainable:
        problems.append("backbone.trainable is False: Keras then trains none of its weights, "
                        "whatever its layers' flags say; set backbone.trainable = True first, "
                        "then freeze the layers before " + from_layer)
    elif not backbone.trainable_weights:
        problems.append("no weight of the backbone is trainable: the layers from "
                        f"{from_layer} on must be")
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
        value = np.asarray(keras.ops.convert_to_numpy(fn(keras.ops.convert_to_tensor(images))),
                           "float64")
    except Exception as e:  # the student's code: say what it raised
        return _verdict([f"it raised {e.__class__.__name__}: {e}"], "")
    if value.size == len(images) and value.size > 1:
        each = down.sum(axis=(1, 2, 3)) + across.sum(axis=(1, 2, 3))
        if np.allclose(value.ravel(), each, rtol=1e-3):
            return _verdict(["you return one number per image (as tf.image.total_variation "
                             "does): sum them, ops.sum(...), for one number for the batch"], "")
    if value.size != 1:
        return _verdict([f"it returns an array of shape {value.shape}, not one number: sum the "
                         "absolute differences over the whole batch (ops.sum)"], "")
    value = float(value.ravel()[0])
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


def _fgsm_sign(model, original, target):
    """The sign of the gradient of notebook 04's ``attack_loss`` (-log p(target) of
    the 8-bit image) with respect to ``original``, and p(target) there."""
    import keras

    from helpers.lessons.gradients import input_gradient
    from helpers.lessons.optimize import attack_loss

    grad, _, p = input_gradient(attack_loss, model)(original[None], np.int32(target))
    return np.sign(keras.ops.convert_to_numpy(grad)[0]), float(keras.ops.convert_to_numpy(p))


def fgsm_step(original, adversarial, epsilon, model=None, target=None) -> str:
    """Notebook 04: ``adversarial`` is one FGSM step toward ``target`` from
    ``original`` (0..255, same shape): every pixel moves by exactly ``epsilon``
    against the sign of the gradient of -log p(target), then the image is clipped
    into 0..255. Without ``model`` and ``target`` only the step sizes are judged."""
    import keras

    if adversarial is None:
        return _say(NOT_DONE)
    adversarial = np.asarray(keras.ops.convert_to_numpy(adversarial), "float32")
    original = np.asarray(original, "float32")
    if adversarial.shape != original.shape:
        fix = (": drop the batch axis ([0])" if adversarial.shape[1:] == original.shape
               and adversarial.shape[:1] == (1,) else "")
        return _verdict([f"the image has shape {adversarial.shape}, the photo "
                         f"{original.shape}{fix}"], "")
    tol = 1e-3
    diff = adversarial - original
    size = np.abs(diff)
    moved = float(size.max())
    if moved == 0:
        return _verdict(["no pixel changed: take a step of size epsilon against the sign of "
                         "the gradient"], "")
    problems = []
    if adversarial.min() < 0 or adversarial.max() > 255:
        problems.append("pixels left 0..255: clip the image into 0..255 after the step")
    if moved > epsilon + tol:
        problems.append(f"a pixel moved by {moved:.2f}, more than epsilon = {epsilon:g}: step "
                        "by epsilon times the sign of the gradient")
    # pixels that a step of epsilon either way leaves inside 0..255 must move by epsilon
    free = (original >= epsilon) & (original <= 255 - epsilon)
    sign, p = (None, None) if model is None or target is None else _fgsm_sign(
        model, original, target)
    if sign is not None:
        free &= sign != 0                 # a zero gradient: the pixel stays
    off = free & (np.abs(size - epsilon) > tol)
    if not problems and off.sum() > 0.01 * free.sum():
        sizes = size[free]
        if np.ptp(sizes) <= tol:
            problems.append(f"every pixel moved by {sizes[0]:g}; FGSM moves each by exactly "
                            f"epsilon = {epsilon:g}: step by epsilon * sign(gradient)")
        else:
            problems.append(f"the pixels moved by different amounts ({sizes.min():g} to "
                            f"{sizes.max():g}): FGSM moves every pixel by exactly epsilon = "
                            f"{epsilon:g}, epsilon times the sign of the gradient, not the "
                            "gradient itself, scaled")
    if sign is not None and not problems:
        expected = np.clip(original - epsilon * sign, 0, 255)
        wrong = np.abs(adversarial - expected) > tol
        if wrong.mean() > 0.02:           # the backends' gradients may differ on a few
            moving = free & (size > tol)
            along = float((np.sign(diff[moving]) == sign[moving]).mean())
            if along > 0.98:
                problems.append("every pixel moved along the gradient of -log p(target), which "
                                "raises the loss and lowers p(target): step against it, "
                                "original - epsilon * sign(gradient)")
            else:
                problems.append(f"{wrong.mean():.0%} of the pixels are not where one FGSM "
                                "step puts them: the signs of your step do not follow the "
                                "gradient of attack_loss (-log p(target)) for this photo and "
                                "this target; step original - epsilon * sign(gradient)")
    if problems:
        return _verdict(problems, "")
    if sign is None:
        return _verdict([], f"Right: every pixel moved by epsilon = {epsilon:g} (or stayed at 0 "
                            "or 255); pass model and target to check the direction too.")
    q = float(keras.ops.convert_to_numpy(model(adversarial[None], training=False))[0, target])
    return _verdict([], f"Right: every pixel moved by epsilon = {epsilon:g} against the sign of "
                        f"the gradient (or stayed at 0 or 255); p(target) {p:.4f} -> {q:.4f}.")


# the names keras.applications and helpers.models.backbones give their pretrained networks,
# and the first layer of each when it is built into a model without its own name
_BACKBONE_NAMES = ("efficientnet", "mobilenet", "resnet", "vgg", "inception", "xception",
                   "densenet", "convnext", "nasnet", "regnet")
_BACKBONE_STEMS = ("stem_conv", "Conv1", "conv1_conv", "block1_conv1")
_CONVOLUTIONS = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose")


def _fresh(layers) -> bool:
    """Whether the weights look freshly initialised: every bias zero, every
    BatchNormalization at its start (mean 0, variance 1, scale 1, offset 0)."""
    import keras

    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            start = {"gamma": 1, "beta": 0, "moving_mean": 0, "moving_variance": 1}
            for w in layer.weights:
                if w.name in start and not np.allclose(keras.ops.convert_to_numpy(w),
                                                       start[w.name]):
                    return False
        bias = getattr(layer, "bias", None)
        if bias is not None and np.any(keras.ops.convert_to_numpy(bias) != 0):
            return False
    return True


def _pretrained(model) -> list:
    """The names of the pretrained backbones in ``model``: nested models named as
    keras.applications and the course name theirs, or a backbone's stem built in,
    whose weights are not freshly initialised."""
    found = []
    for layer in [model] + _layers(model):
        if hasattr(layer, "layers") and layer.name.lower().startswith(_BACKBONE_NAMES) \
                and not _fresh(_layers(layer)):
            found.append(layer.name)
    if not found and any(layer.name in _BACKBONE_STEMS for layer in model.layers) \
            and not _fresh(model.layers):
        found.append(model.name)
    return found


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
    convolutions = tuple(getattr(keras.layers, name) for name in _CONVOLUTIONS)
    if not any(isinstance(layer, convolutions) for layer in _layers(model)):
        problems.append("no convolution layer (Conv2D, SeparableConv2D, ...): a CNN learns "
                        "its filters")
    pretrained = _pretrained(model)
    if pretrained:
        problems.append(f"{', '.join(pretrained)} starts from weights trained already "
                        "(ImageNet's, from get_backbone or keras.applications): from scratch, "
                        "every weight starts random; build your own layers, or pass "
                        "weights=None")
    frozen = [layer.name for layer in _layers(model) if layer.weights and not layer.trainable
              and not hasattr(layer, "layers")]
    if frozen:
        problems.append(f"{len(frozen)} layers are frozen (first: {frozen[0]}): from scratch, "
                        "every weight learns")
    return _verdict(problems, f"Right: a CNN of {model.count_params():,} weights, all of them "
                              "trainable, none taken from a pretrained network.")


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
