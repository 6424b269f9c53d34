"""The gradient of a loss with respect to an *input*, in each backend's own idiom.

Notebook 03 introduces it; notebook 04's attack and notebook 05's Grad-CAM reuse
it. The loss is written once, in ``keras.ops``, and runs on every backend; only
the step that asks for its gradient differs:

* TensorFlow records operations on a *tape* while the loss is computed, then
  plays it back (``tf.GradientTape``; a plain tensor is recorded only when
  ``tape.watch`` asks for it). ``tf.function`` traces the step into a graph once.
* PyTorch builds the graph as it computes: a tensor created with
  ``requires_grad`` carries ``.grad`` once ``loss.backward()`` has run.
* JAX transforms the loss *function* into a new function that returns its
  gradient (``jax.value_and_grad``), and ``jax.jit`` compiles it once.

The three ``*_gradient`` functions are notebook 03's ``#@save`` cells word for
word (``python -m helpers save``
writes them here).
"""

from __future__ import annotations

import weakref

import keras


# Notebook 03's `#@save` cells: edit them there, then run `python -m helpers save`.

def tensorflow_gradient(loss_fn):
    """``loss_fn(image, *args) -> (loss, aux)`` becomes a function returning
    ``(gradient of loss with respect to image, loss, aux)``. TensorFlow. Notebook 03."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)  # traced into a graph once, then reused
    def gradient(image, *args):
        image = tf.convert_to_tensor(image)
        with tf.GradientTape() as tape:  # records every operation on watched tensors
            tape.watch(image)            # a plain tensor is watched only when asked
            loss, aux = loss_fn(image, *args)
        return tape.gradient(loss, image), loss, aux

    return gradient


def torch_gradient(loss_fn):
    """The same, in PyTorch: the image is a leaf tensor that requires a gradient,
    and ``loss.backward()`` fills its ``.grad``. Notebook 03."""
    import torch

    def gradient(image, *args):
        image = torch.as_tensor(image).detach().requires_grad_()  # will carry .grad
        loss, aux = loss_fn(image, *args)
        loss.backward()                  # walks the recorded graph back to the image
        return image.grad, loss.detach(), aux.detach()

    return gradient


def jax_gradient(loss_fn):
    """The same, in JAX: ``value_and_grad`` turns the loss function into one that
    also returns its gradient, and ``jit`` compiles it. Notebook 03."""
    import jax

    loss_and_grad = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))

    def gradient(image, *args):
        (loss, aux), grad = loss_and_grad(image, *args)
        return grad, loss, aux

    return gradient


_STEPS = weakref.WeakKeyDictionary()  # model -> {loss: step}, forgotten with the model


def input_gradient(loss, model):
    """The running backend's gradient step for ``loss(model, image, *args) ->
    (loss, aux)``: a function ``step(image, *args) -> (gradient, loss, aux)``, made
    once per model and loss (traced or compiled once, then reused). Notebook 03."""
    steps = _STEPS.setdefault(model, {})
    if loss not in steps:
        make = {"tensorflow": tensorflow_gradient, "torch": torch_gradient,
                "jax": jax_gradient}[keras.backend.backend()]
        ref = weakref.ref(model)  # a step must not keep its model alive
        steps[loss] = make(lambda image, *args: loss(ref(), image, *args))
    return steps[loss]
