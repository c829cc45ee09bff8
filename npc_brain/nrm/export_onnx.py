"""`npc-brain export`: the trained weights as an ONNX decode graph for the torch-free runtime.

The graph is written by hand (onnx.helper), not traced: every block is RMSNorm, one packed
QKV matmul into ONNX Runtime's GroupQueryAttention (rotary inside, the KV cache shared
between its past and present so a step writes in place), the output projection and a tanh
GELU MLP. Each loop of the shared blocks gets its LoRA delta folded into its own weight
copy, as `NRMModel.prepare_inference` does. Inputs: token ids (B, S), each row's last
position (`seqlens_k`), the batch's longest length, which hidden state to read logits from,
and every layer's key/value cache (B, H, max_len, hd).

Needs torch and onnx (the `train` extra); the runtime that reads the file needs neither.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from npc_brain.nrm.checkpoint import load_model, weights_hash
from npc_brain.nrm.model import NRMModel, rope_tables
from npc_brain.nrm.runtime_onnx import FORMAT, META_FILE, ONNX_FILE


def export(model_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write model.onnx (+ model.onnx.json) for the model in `model_dir`; returns its path."""
    src = Path(model_dir)
    out = Path(out_dir) if out_dir is not None else src
    model, _ = load_model(src)
    graph = build_graph(model.prepare_inference())
    path = out / ONNX_FILE
    onnx.save(graph, path)
    cfg = model.cfg
    meta = {
        "format": FORMAT,
        "model_pt_sha256": weights_hash(src),
        "parameters": model.num_params(),
        "layers": cfg.n_layers,
        "heads": cfg.n_heads,
        "head_dim": cfg.d_model // cfg.n_heads,
        "max_seq_len": cfg.max_seq_len,
        "vocab_size": cfg.vocab_size,
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return path


def _t(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().contiguous().numpy()


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(
        self, kind: str, inputs: list[str], n_out: int = 1, domain: str = "", **attrs
    ) -> list[str]:
        outs = [self.name(kind.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(kind, inputs, outs, domain=domain or None, **attrs))
        return outs

    def rmsnorm(self, x: str, norm: torch.nn.RMSNorm) -> str:
        eps = norm.eps if norm.eps is not None else float(torch.finfo(torch.float32).eps)
        w = self.const("norm_w", _t(norm.weight))
        return self.op("SimplifiedLayerNormalization", [x, w], axis=-1, epsilon=eps)[0]

    def linear(self, x: str, weight: torch.Tensor) -> str:
        return self.op("MatMul", [x, self.const("w", _t(weight.T))])[0]


def build_graph(model: NRMModel) -> onnx.ModelProto:
    cfg = model.cfg
    hd = cfg.d_model // cfg.n_heads
    b = _Builder()
    cos, sin = rope_tables(cfg)
    cos_name, sin_name = b.const("rope_cos", _t(cos)), b.const("rope_sin", _t(sin))
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("seqlens_k", TensorProto.INT32, ["batch"]),
        helper.make_tensor_value_info("total_seq_len", TensorProto.INT32, []),
        helper.make_tensor_value_info("last_index", TensorProto.INT64, ["batch"]),
    ]
    outputs = [
        helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", cfg.vocab_size])
    ]
    cache_shape = ["batch", cfg.n_heads, cfg.max_seq_len, hd]
    embed = b.const("embed", _t(model.embed.weight))  # tied: read by Gather and the head
    x = b.op("Gather", [embed, "input_ids"])[0]
    for i, (block, loop) in enumerate(model.layers()):
        names = [f"{kind}_{part}.{i}" for kind in ("past", "present") for part in ("key", "value")]
        for n in names[:2]:
            inputs.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, cache_shape))
        for n in names[2:]:
            outputs.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, cache_shape))
        qkv = b.linear(b.rmsnorm(x, block.norm1), block.qkv.loop_weight(loop))
        att = b.name("att")
        b.nodes.append(
            helper.make_node(
                "GroupQueryAttention",
                [qkv, "", "", names[0], names[1], "seqlens_k", "total_seq_len", cos_name, sin_name],
                [att, names[2], names[3]],
                domain="com.microsoft",
                num_heads=cfg.n_heads,
                kv_num_heads=cfg.n_heads,
                do_rotary=1,
                rotary_interleaved=1,
            )
        )
        x = b.op("Add", [x, b.linear(att, block.proj.loop_weight(loop))])[0]
        up = b.linear(b.rmsnorm(x, block.norm2), block.up.loop_weight(loop))
        act = b.op("Gelu", [up], approximate="tanh")[0]
        x = b.op("Add", [x, b.linear(act, block.down.loop_weight(loop))])[0]
    h = b.rmsnorm(x, model.norm)
    flat = b.op("Reshape", [h, b.const("shape", np.array([-1, cfg.d_model], dtype=np.int64))])[0]
    last = b.op("Gather", [flat, "last_index"], axis=0)[0]
    b.nodes.append(helper.make_node("Gemm", [last, embed], ["logits"], transB=1))
    graph = helper.make_graph(b.nodes, "nrm_decode", inputs, outputs, b.inits)
    opsets = [helper.make_opsetid("", 20), helper.make_opsetid("com.microsoft", 1)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="npc-brain")
    proto.ir_version = 9
    return proto
