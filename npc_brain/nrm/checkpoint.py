"""Model directories: `config.json`, `tokenizer.json`, `model.pt` (+ `train_info.json`, and
from `npc-brain export`: `model.npz`, the parameters once, and `model.onnx`, a graph over
them, each with a `.json` that records the `model.pt` it came from). An installed wheel ships
model.npz without model.pt: the torch model then loads the same parameters from it. torch is
imported only to build the torch model, so serving on ONNX Runtime or numpy never loads it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from npc_brain.nrm.tokenizer import Tokenizer

if TYPE_CHECKING:
    import torch

    from npc_brain.nrm.model import NRMModel

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
# A model directory may hold a second model here that answers `generate` requests (free
# reasoning) while the directory's own model answers `decide`: two specialists.
GENERATE_SUBDIR = "generate"
TRAIN_INFO = "train_info.json"
EXPORT_HINT = "re-export with `npc-brain export`"


class ModelNotFoundError(FileNotFoundError):
    pass


def save_model(
    model: NRMModel, tok: Tokenizer, out_dir: str | Path, info: dict | None = None
) -> Path:
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.cfg.save(out / "config.json")
    tok.save(out / "tokenizer.json")
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, out / "model.pt")
    if info is not None:
        (out / TRAIN_INFO).write_text(json.dumps(info, indent=2) + "\n")
    return out


def load_model(model_dir: str | Path | None = None) -> tuple[NRMModel, Tokenizer]:
    """Load a model directory (default: the bundled, trained model) for inference."""
    d = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    missing = [n for n in ("config.json", "tokenizer.json") if not (d / n).is_file()]
    if not has_weights(d):
        missing.append("model.pt")
    if missing:
        hint = " (train one with `npc-brain train`)" if model_dir is None else ""
        raise ModelNotFoundError(f"{d} lacks {', '.join(missing)}{hint}")
    from npc_brain.nrm.model import NRMModel

    model = NRMModel.from_config(d / "config.json")
    model.load_state_dict(load_state(d))
    tok = Tokenizer.load(d / "tokenizer.json")
    if tok.vocab_size > model.cfg.vocab_size:
        raise ValueError(
            f"{d}: tokenizer has {tok.vocab_size} ids, model only {model.cfg.vocab_size}"
        )
    return model.eval(), tok


def generate_dir(model_dir: str | Path | None = None) -> Path:
    """The model that answers `generate` for `model_dir` (default: the bundled one): its
    `generate/` specialist when it has one, else the directory itself."""
    d = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    sub = d / GENERATE_SUBDIR
    return sub if (sub / "config.json").is_file() else d


def has_weights(model_dir: Path) -> bool:
    """Whether `model_dir` holds trained parameters: model.pt, or model.npz (a wheel's)."""
    return any((model_dir / name).is_file() for name in ("model.pt", "model.npz"))


def load_state(model_dir: Path) -> dict[str, torch.Tensor]:
    """The torch state dict: model.pt's, else the same parameters from model.npz."""
    import torch

    if (model_dir / "model.pt").is_file():
        return torch.load(model_dir / "model.pt", weights_only=True)
    from npc_brain.nrm import weights

    problem = weights.problem(model_dir)
    if problem is not None:
        raise ModelNotFoundError(problem)
    arrays = weights.load_arrays(model_dir / weights.NPZ_FILE)
    return {k: torch.from_numpy(v) for k, v in arrays.items() if k not in weights.EXTRA_ARRAYS}


def load_tokenizer(model_dir: str | Path | None = None) -> Tokenizer:
    d = Path(model_dir) if model_dir is not None else DEFAULT_MODEL_DIR
    return Tokenizer.load(d / "tokenizer.json")


def train_info(model_dir: str | Path | None = None) -> dict:
    path = Path(model_dir or DEFAULT_MODEL_DIR) / TRAIN_INFO
    return json.loads(path.read_text()) if path.is_file() else {}


def weights_hash(model_dir: Path) -> str:
    """sha256 of model.pt: an export records it, so a stale export is caught."""
    return hashlib.sha256((model_dir / "model.pt").read_bytes()).hexdigest()


def read_meta(model_dir: Path, meta_file: str) -> dict:
    path = model_dir / meta_file
    return json.loads(path.read_text()) if path.is_file() else {}


def export_problem(model_dir: Path, export_file: str, meta_file: str, fmt: int) -> str | None:
    """Why an export in `model_dir` cannot be used (missing, old, stale), or None."""
    meta = read_meta(model_dir, meta_file)
    if not (model_dir / export_file).is_file() or not meta:
        return f"{model_dir} has no {export_file}; {EXPORT_HINT}"
    if meta.get("format") != fmt:
        return f"{model_dir / export_file} is an older export format; {EXPORT_HINT}"
    exported_alone = not (model_dir / "model.pt").is_file()  # nothing to be stale against
    if not exported_alone and meta.get("model_pt_sha256") != weights_hash(model_dir):
        return f"{model_dir / export_file} was exported from another model.pt; {EXPORT_HINT}"
    return None
