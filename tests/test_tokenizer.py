from hypothesis import given, settings
from hypothesis import strategies as st

from npc_brain.nrm.tokenizer import SPECIALS, Tokenizer
from npc_brain.nrm.trace import format_trace

CORPUS = [
    format_trace("What is 47 + 38?", ["7 + 8 = 15, write 5 carry 1"], "85"),
    format_trace("guard Bram sees a hostile wolf 4 m away", ["the wolf is hostile"], "attack wolf"),
] * 20


def make() -> Tokenizer:
    return Tokenizer.train(CORPUS, vocab_size=400, min_count=1)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_round_trip_any_text(text: str) -> None:
    tok = make()
    assert tok.decode(tok.encode(text)) == text
    assert tok.decode(tok.encode(text, allow_special=False)) == text


def test_tags_are_single_tokens_only_when_allowed() -> None:
    tok = make()
    for tag in SPECIALS[1:]:
        assert tok.encode(tag) == [tok.special_id(tag)]
        assert tok.special_id(tag) not in tok.encode(tag, allow_special=False)


def test_digits_are_single_tokens_and_words_whole() -> None:
    tok = make()
    ids = tok.encode("What is 1234?")
    pieces = [tok.decode([i]) for i in ids]
    assert pieces == ["What", " is", " 1", "2", "3", "4", "?"]
    assert len(tok.encode(" wolf")) == 1


def test_vocab_limit_and_save_load(tmp_path) -> None:
    tok = Tokenizer.train(CORPUS, vocab_size=270, min_count=1)
    assert tok.vocab_size <= 270
    tok.save(tmp_path / "tokenizer.json")
    again = Tokenizer.load(tmp_path / "tokenizer.json")
    text = "Zoë the 🐺 hunter"
    assert again.encode(text) == tok.encode(text)
    assert again.decode(again.encode(text)) == text


def test_stream_decoder_holds_split_utf8() -> None:
    tok = make()
    text = "é🐺x"
    dec = tok.stream_decoder()
    out = "".join(dec.feed(i) for i in tok.encode(text)) + dec.flush()
    assert out == text
