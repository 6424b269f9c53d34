import numpy as np
import pytest

from helpers.models.labels import UnknownClassError, decode_top, find_class, imagenet_labels


def test_thousand_labels():
    labels = imagenet_labels()
    assert len(labels) == 1000
    assert labels[281] == "tabby" and labels[967] == "espresso"


@pytest.mark.parametrize("name,index", [("tabby", 281), ("Siamese cat", 284),
                                        ("zebra", 340), ("espresso", 967),
                                        ("tiger_cat", 282), ("340", 340), (285, 285)])
def test_find_class(name, index):
    assert find_class(name) == index


def test_typo_gets_suggestions():
    with pytest.raises(UnknownClassError, match="tabby"):
        find_class("tabbby")
    with pytest.raises(UnknownClassError, match="zebra"):
        find_class("zebr")


def test_out_of_range_index():
    with pytest.raises(UnknownClassError):
        find_class(1000)


def test_decode_top_sorted():
    probs = np.full(1000, 0.0001)
    probs[340], probs[281] = 0.6, 0.3
    top = decode_top(probs, k=2)[0]
    assert [t["index"] for t in top] == [340, 281]
    assert top[0]["label"] == "zebra"
