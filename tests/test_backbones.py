import os
import pickle
import shutil
import sys

import numpy as np
import pytest
import skimage.data

from helpers.models import backbones, lite, torch_pickle
from helpers.data.images import load_image, resize_array
from helpers.models.labels import CAT_CLASSES, DOG_CLASSES


def top1(model, image):
    return int(np.argmax(model(image[None], training=False).numpy()[0]))


@pytest.mark.parametrize("name", list(lite.VARIANTS))
def test_lite_family_sees_a_cat_and_an_espresso(name, tmp_path_factory, monkeypatch):
    # converted from its own PyPI package into a fresh cache, then read back from it
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path_factory.mktemp(name)))
    for attempt in ("converted", "cached"):
        model = backbones.get_backbone(name, include_top=True)
        size = backbones.input_size(name)
        assert model.input_shape[1:] == (size, size, 3)
        assert top1(model, resize_array(skimage.data.chelsea(), size)) in CAT_CLASSES, attempt
        assert top1(model, resize_array(skimage.data.coffee(), size)) == 967, attempt  # espresso


def test_lite_scaling_matches_the_shipped_weights():
    # Lite1 is Lite0 deeper (21 blocks), Lite2 also wider (352 channels in the last stage)
    for name, blocks, last in [("efficientnet_lite0", 16, 320), ("efficientnet_lite1", 21, 320),
                               ("efficientnet_lite2", 21, 352)]:
        model = lite.build(name, include_top=False)
        assert sum(1 for layer in model.layers if layer.name.endswith("_dwconv")) == blocks
        assert model.get_layer(f"block{blocks - 1}_project_conv").kernel.shape[-1] == last


def test_lite0_on_sample_photos(classifier, samples):
    assert top1(classifier, load_image(samples / "cat.jpg")) in CAT_CLASSES
    assert top1(classifier, load_image(samples / "dog.jpg")) in DOG_CLASSES


def test_features_are_pooled_vectors():
    model = backbones.get_backbone("efficientnet_lite0", include_top=False)
    feats = model(np.zeros((2, 224, 224, 3), "float32")).numpy()
    assert feats.shape == (2, 1280)
    assert np.all(feats >= 0) and np.all(feats <= 6)  # after ReLU6 and pooling


def test_unknown_backbone_lists_valid_names():
    with pytest.raises(ValueError, match="efficientnet_lite0.*vgg16"):
        backbones.get_backbone("vgg61")


def test_keras_application_offline_gives_clear_message(tmp_path, monkeypatch):
    # No cached weights and no way out: a proxy on a closed local port.
    import urllib.request

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    for var in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    # urllib keeps the opener (and the proxies) of its first call: forget it afterwards
    monkeypatch.setattr(urllib.request, "_opener", None)
    with pytest.raises(backbones.BackboneUnavailableError) as info:
        backbones.get_backbone("vgg16")
    message = str(info.value)
    assert str(tmp_path / "models") in message and "efficientnet_lite0" in message


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch " + _Boom.marker,))


def test_restricted_unpickler_refuses_os_system(tmp_path):
    marker = tmp_path / "pwned"
    _Boom.marker = str(marker)
    payload = pickle.dumps(_Boom(), protocol=2)
    with pytest.raises(torch_pickle.UnsafePickleError, match="system"):
        torch_pickle.restricted_loads(payload)
    assert not marker.exists()


def test_crafted_pth_is_refused_without_side_effect(tmp_path):
    marker = tmp_path / "pwned"
    _Boom.marker = str(marker)
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        for obj in (torch_pickle.MAGIC_NUMBER, torch_pickle.PROTOCOL_VERSION,
                    {"little_endian": True}, {"w": _Boom()}, []):
            pickle.dump(obj, f, protocol=2)
    with pytest.raises(torch_pickle.UnsafePickleError):
        torch_pickle.load_state_dict(path)
    assert not marker.exists()


def test_state_dict_reads_real_tensors():
    state = torch_pickle.load_state_dict(lite.source())
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn0.num_batches_tracked"].dtype == np.int64
    assert np.isfinite(state["_fc.weight"]).all() and state["_fc.weight"].std() > 0


def test_checksum_mismatch_is_refused(tmp_path):
    copy = tmp_path / "lite0.pth"
    shutil.copy(lite.source(), copy)
    data = bytearray(copy.read_bytes())
    data[-10] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="checksum mismatch.*reinstall"):
        lite.convert("efficientnet_lite0", copy)


def test_damaged_cache_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("TL_CACHE_DIR", str(tmp_path))
    first = backbones.get_backbone(include_top=True)
    [weights] = (tmp_path / "lite").glob("efficientnet_lite0-*.weights.h5")
    weights.write_bytes(b"not a weights file")
    again = backbones.get_backbone(include_top=True)
    x = resize_array(skimage.data.chelsea())[None]
    np.testing.assert_allclose(first(x).numpy(), again(x).numpy(), atol=1e-5)
    assert weights.stat().st_size > 1_000_000


def test_bfloat16_backbone_gives_float32_features_close_to_float32():
    x = resize_array(skimage.data.chelsea())[None]
    full = backbones.get_backbone(include_top=True)(x).numpy()
    half_model = backbones.get_backbone(include_top=True, bfloat16=True)
    half = half_model(x).numpy()
    assert half.dtype == np.float32
    assert int(half.argmax()) == int(full.argmax())
    import keras
    assert keras.mixed_precision.global_policy().name == "float32"   # restored


def test_random_weights_for_timing():
    model = backbones.get_backbone("efficientnet_lite0", include_top=False, weights=None)
    assert model.output.shape[-1] == 1280


def _write_pth(path, monkeypatch, numel, views):
    """A legacy torch.save file with one float storage of ``numel`` values and one
    tensor per (offset, size, stride) in ``views``, written without PyTorch."""
    import struct
    import types

    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("only pickled here")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    FloatStorage = type("FloatStorage", (), {"__module__": "torch"})
    torch.FloatStorage, torch._utils, utils._rebuild_tensor_v2 = FloatStorage, utils, _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)

    class Storage:
        pass

    class Tensor:
        def __init__(self, offset, size, stride):
            self.args = (Storage(), offset, size, stride)

        def __reduce__(self):
            return _rebuild_tensor_v2, self.args

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", FloatStorage, "0", "cpu", numel) if isinstance(obj, Storage) else None

    with open(path, "wb") as f:
        for obj in (torch_pickle.MAGIC_NUMBER, torch_pickle.PROTOCOL_VERSION,
                    {"little_endian": True}):
            pickle.dump(obj, f, protocol=2)
        Pickler(f, protocol=2).dump({f"t{i}": Tensor(*v) for i, v in enumerate(views)})
        pickle.dump(["0"], f, protocol=2)
        f.write(struct.pack("<q", numel) + np.arange(numel, dtype="<f4").tobytes())


def test_tensor_views_outside_their_storage_are_refused(tmp_path, monkeypatch):
    good = tmp_path / "good.pth"
    _write_pth(good, monkeypatch, 6, [(0, (2, 3), (3, 1)), (2, (2, 2), (1, 2))])
    state = torch_pickle.load_state_dict(good)
    np.testing.assert_array_equal(state["t0"], [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal(state["t1"], [[2, 4], [3, 5]])
    for name, view, message in [
            ("past_end.pth", (0, (3, 3), (3, 1)), "reads past the end"),
            ("offset.pth", (5, (2,), (1,)), "reads past the end"),
            ("negative.pth", (0, (2,), (-1,)), "negative"),
            ("rank.pth", (0, (2, 2), (1,)), "sizes but 1 strides")]:
        _write_pth(tmp_path / name, monkeypatch, 6, [view])
        with pytest.raises(ValueError, match=message):
            torch_pickle.load_state_dict(tmp_path / name)
