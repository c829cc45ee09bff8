"""`npc-brain export`: an ONNX decode graph over `model.npz` for the torch-free runtime.

The graph is written by hand (onnx.helper), not traced: every block is RMSNorm, one packed
QKV matmul into ONNX Runtime's GroupQueryAttention (rotary inside, the KV cache shared
between its past and present so a step writes in place), the output projection and a tanh
GELU MLP. The graph holds no weights: its initializers are ONNX external data pointing at
the arrays in `model.npz` (written first by the same command), so the package ships the
parameters once. Each loop's merged weight (W^T + A B, as `NRMModel.prepare_inference`
folds it) is a subgraph of initializers alone, which ONNX Runtime's constant folding computes
once when the session starts. Inputs: token ids (B, S), each row's last position
(`seqlens_k`), the batch's longest length, which hidden state to read logits from, and
every layer's key/value cache (B, H, max_len, hd); with digit positions in the config, also
each token's digit place (B, S) (npc_brain.nrm.digits).

Needs onnx (the `train` extra); the runtime that reads the file needs only ONNX Runtime.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from npc_brain.nrm import weights
from npc_brain.nrm.checkpoint import read_meta
from npc_brain.nrm.config import NRMConfig
from npc_brain.nrm.runtime_onnx import DIGITS, FORMAT, META_FILE, ONNX_FILE

Layout = dict[str, tuple[int, int, tuple[int, ...]]]


def export(model_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Write model.onnx (+ model.onnx.json) over the model.npz in `out_dir` (default:
    `model_dir`, which holds config.json); returns its path."""
    src = Path(model_dir)
    out = Path(out_dir) if out_dir is not None else src
    problem = weights.problem(out)
    if problem is not None:
        raise FileNotFoundError(problem)
    cfg = NRMConfig.load(src / "config.json")
    npz = out / weights.NPZ_FILE
    eps = float(np.load(npz)["eps"])
    path = out / ONNX_FILE
    path.write_bytes(build_graph(cfg, weights.data_layout(npz), eps).SerializeToString())
    npz_meta = read_meta(out, weights.META_FILE)
    meta = {
        "format": FORMAT,
        "model_pt_sha256": npz_meta["model_pt_sha256"],
        "model_npz_sha256": hashlib.sha256(npz.read_bytes()).hexdigest(),
        "parameters": npz_meta["parameters"],
        "layers": cfg.n_layers,
        "heads": cfg.n_heads,
        "head_dim": cfg.d_model // cfg.n_heads,
        "max_seq_len": cfg.max_seq_len,
        "vocab_size": cfg.vocab_size,
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return path


class _Builder:
    def __init__(self, layout: Layout, eps: float) -> None:
        self.layout = layout
        self.eps = eps
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0
        self._memo: dict[tuple[str, int], str] = {}

    def name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def stored(self, array: str) -> str:
        """An initializer whose data is `array` in model.npz (ONNX external data)."""
        if any(t.name == array for t in self.inits):
            return array
        offset, length, shape = self.layout[array]
        tensor = TensorProto(name=array, data_type=TensorProto.FLOAT, dims=shape)
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", weights.NPZ_FILE), ("offset", offset), ("length", length)):
            tensor.external_data.add(key=key, value=str(value))
        self.inits.append(tensor)
        return array

    def op(
        self, kind: str, inputs: list[str], n_out: int = 1, domain: str = "", **attrs
    ) -> list[str]:
        outs = [self.name(kind.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(kind, inputs, outs, domain=domain or None, **attrs))
        return outs

    def rmsnorm(self, x: str, weight: str) -> str:
        w = self.stored(weight)
        return self.op("SimplifiedLayerNormalization", [x, w], axis=-1, epsilon=self.eps)[0]

    def loop_matrix(self, linear: str, loop: int) -> str:
        """The (in, out) matrix of `linear` on loop `loop`: W^T, plus A_i B_i after loop 0."""
        key = (linear, loop)
        if key not in self._memo:
            if loop == 0:
                w = self.stored(f"{linear}.base.weight")
                self._memo[key] = self.op("Transpose", [w], perm=[1, 0])[0]
            else:
                index = self.const("loop", np.array(loop - 1, dtype=np.int64))
                a, b = (
                    self.op("Gather", [self.stored(f"{linear}.lora_{p}"), index], axis=0)[0]
                    for p in "ab"
                )
                delta = self.op("MatMul", [a, b])[0]
                self._memo[key] = self.op("Add", [self.loop_matrix(linear, 0), delta])[0]
        return self._memo[key]

    def linear(self, x: str, linear: str, loop: int) -> str:
        return self.op("MatMul", [x, self.loop_matrix(linear, loop)])[0]


def build_graph(cfg: NRMConfig, layout: Layout, eps: float) -> onnx.ModelProto:
    """The decode graph over the arrays of a model.npz laid out as `layout`."""
    hd = cfg.d_model // cfg.n_heads
    b = _Builder(layout, eps)
    cos_name, sin_name = b.stored("rope_cos"), b.stored("rope_sin")
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
    embed = b.stored("embed.weight")  # tied: read by Gather and the head
    x = b.op("Gather", [embed, "input_ids"])[0]
    if cfg.digit_positions:
        inputs.append(helper.make_tensor_value_info(DIGITS, TensorProto.INT64, ["batch", "seq"]))
        places = b.op("Gather", [b.stored("digit_embed.weight"), DIGITS])[0]
        x = b.op("Add", [x, places])[0]
    for i, (block, loop) in enumerate(weights.block_layers(cfg)):
        names = [f"{kind}_{part}.{i}" for kind in ("past", "present") for part in ("key", "value")]
        for n in names[:2]:
            inputs.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, cache_shape))
        for n in names[2:]:
            outputs.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, cache_shape))
        qkv = b.linear(b.rmsnorm(x, f"{block}.norm1.weight"), f"{block}.qkv", loop)
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
        x = b.op("Add", [x, b.linear(att, f"{block}.proj", loop)])[0]
        up = b.linear(b.rmsnorm(x, f"{block}.norm2.weight"), f"{block}.up", loop)
        act = b.op("Gelu", [up], approximate="tanh")[0]
        x = b.op("Add", [x, b.linear(act, f"{block}.down", loop)])[0]
    h = b.rmsnorm(x, "norm.weight")
    flat = b.op("Reshape", [h, b.const("shape", np.array([-1, cfg.d_model], dtype=np.int64))])[0]
    last = b.op("Gather", [flat, "last_index"], axis=0)[0]
    b.nodes.append(helper.make_node("Gemm", [last, embed], ["logits"], transB=1))
    graph = helper.make_graph(b.nodes, "nrm_decode", inputs, outputs, b.inits)
    opsets = [helper.make_opsetid("", 20), helper.make_opsetid("com.microsoft", 1)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="npc-brain")
    proto.ir_version = 9
    return proto
