import torch

from npc_brain.nrm.decode import generate_one
from npc_brain.nrm.kv_cache import KVCache, forward_rows
from npc_brain.nrm.model import NRMConfig, NRMModel


def small() -> NRMModel:
    torch.manual_seed(0)
    cfg = NRMConfig(vocab_size=300, d_model=64, n_heads=4, d_ff=128, max_seq_len=128, lora_rank=4)
    model = NRMModel(cfg).eval()
    # LoRA deltas start at zero; make them non-zero so loops really differ.
    for b in model.shared:
        for lin in (b.qkv, b.proj, b.up, b.down):
            torch.nn.init.normal_(lin.lora_b, std=0.05)
    return model


def test_default_config_is_within_budget() -> None:
    model = NRMModel(NRMConfig())
    assert model.num_params() <= 1_000_000
    assert model.cfg.n_loops > 1 and model.cfg.lora_rank > 0


def test_card_layout_is_expressible() -> None:
    cfg = NRMConfig(
        vocab_size=2048, d_model=96, d_ff=384, n_entry=2, n_shared=2, n_exit=2, lora_rank=16
    )
    model = NRMModel(cfg)
    assert cfg.n_layers == 8 and model.num_params() <= 1_000_000


def test_loops_use_their_own_lora() -> None:
    model = small()
    x = torch.randint(0, 300, (1, 10))
    base, _ = model(x)
    for b in model.shared:
        b.up.lora_b.data.zero_()
    changed, _ = model(x)
    assert not torch.allclose(base, changed)


@torch.no_grad()
def test_kv_cache_matches_full_recompute() -> None:
    model = small()
    ids = torch.randint(1, 300, (1, 12)).tolist()[0]
    out = generate_one(model, ids, 20)
    seq = list(ids)
    for _ in range(20):
        logits, _ = model(torch.tensor([seq]))
        seq.append(int(logits[0, -1].argmax()))
    assert ids + out == seq
    # logits of the cached step equal the full pass within tolerance
    cache = KVCache(model, 1)
    full, _ = model(torch.tensor([seq]))
    forward_rows(
        model,
        cache,
        0,
        torch.tensor([seq[:-1]]),
        torch.arange(len(seq) - 1)[None],
        torch.tensor([0]),
    )
    step = forward_rows(
        model,
        cache,
        0,
        torch.tensor([[seq[-1]]]),
        torch.tensor([[len(seq) - 1]]),
        torch.tensor([0]),
    )
    assert torch.allclose(step[0], full[0, -1], atol=1e-4)


def test_state_dict_round_trip(tmp_path) -> None:
    model = small()
    model.cfg.save(tmp_path / "config.json")
    torch.save(model.state_dict(), tmp_path / "model.pt")
    again = NRMModel.from_config(tmp_path / "config.json")
    again.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    x = torch.randint(0, 300, (2, 9))
    assert torch.equal(model(x)[0], again.eval()(x)[0])
