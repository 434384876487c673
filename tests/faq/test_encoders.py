import numpy as np
import pytest

from faq.encoders import CombinedEncoder, E5Encoder, UseEncoder, make_encoder
from faq.retriever import Thresholds, thresholds_for


def test_use_and_e5_side_by_side_score_the_mean_of_their_cosines():
    use, e5 = UseEncoder(), E5Encoder()
    combined = make_encoder("use+e5")
    assert isinstance(combined, CombinedEncoder)
    assert combined.name == f"{use.name}+{e5.name}"  # the index cache key names both
    texts = ["什么时候发货", "几天能发出", "可以开发票吗"]
    rows = combined.encode(texts)
    assert rows.shape == (3, 512 + 384) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    each = [encoder.encode(texts) for encoder in (use, e5)]
    mean_cosine = sum(vectors @ vectors.T for vectors in each) / 2
    assert np.allclose(rows @ rows.T, mean_cosine, atol=1e-5)
    # Both read a paraphrase as nearer than another question.
    assert (rows[0] @ rows[1]) > (rows[0] @ rows[2])


def test_nothing_to_encode_gives_no_rows():
    assert make_encoder("use+e5").encode([]).shape == (0, 512 + 384)


def test_the_pair_has_its_own_bars_and_an_unknown_part_is_refused():
    pair = thresholds_for(make_encoder("use+e5").name)
    assert pair == thresholds_for("use+e5") != Thresholds()
    assert pair.answer > Thresholds().answer and pair.clarify > Thresholds().clarify
    with pytest.raises(ValueError, match="unknown encoder 'nope'"):
        make_encoder("use+nope")
