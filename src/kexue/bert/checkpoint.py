"""Pretrained BERT weights into keras-hub's `BertBackbone`, whatever format they ship in.

- Hugging Face: config.json + model.safetensors (+ vocab.txt); keras-hub's own converter loads it.
- Google's original TF checkpoint: bert_config.json + bert_model.ckpt.{index,data-*} (+ vocab.txt),
  the format of Google's chinese_L-12_H-768_A-12 and HFL's Chinese BERT-wwm / RoBERTa-wwm. keras-hub
  has no converter for it, so every variable is mapped here by name.
- a keras-hub preset (what `backbone.save_to_preset(dir)` writes).

Activation: keras-hub's BERT always uses the tanh approximation of GELU. That is exactly what
Google's BERT computed (modeling.py's `gelu`), but Hugging Face's "gelu" is the exact erf form;
the two differ by at most 4.8e-4 per activation, so HF checkpoints load with outputs ~1e-3 off
from `transformers`, which is harmless for fine-tuning.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

from ..core.io import read_json
from ..core.tfquiet import import_keras
from .tokenizer import load_vocab

# every GELU spelling keras-hub's tanh-approximate GELU honours (exactly, or within 4.8e-4 for "gelu")
GELU_NAMES = ("gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast")
BACKBONE_KEYS = ("vocabulary_size", "num_layers", "num_heads", "hidden_dim", "intermediate_dim",
                 "max_sequence_length", "num_segments", "dropout")
_FROM_BERT_CONFIG = {"vocabulary_size": "vocab_size", "num_layers": "num_hidden_layers",
                     "num_heads": "num_attention_heads", "hidden_dim": "hidden_size",
                     "intermediate_dim": "intermediate_size", "max_sequence_length": "max_position_embeddings"}
_OPTIMIZER_SLOTS = re.compile(r"/(adam|lamb)_[mv]$|/(Adam|Adam_1|Momentum|LAMB|LAMB_1)$")

EXPECTED = """one of these layouts:
  Hugging Face:     config.json + model.safetensors (+ vocab.txt)
  Google TF (BERT): bert_config.json + bert_model.ckpt.index + bert_model.ckpt.data-00000-of-00001 (+ vocab.txt)
  keras-hub preset: config.json (with "registered_name") + model.weights.h5
or the prefix of a TF checkpoint such as DIR/bert_model.ckpt (with DIR/bert_config.json)."""


def _locate(path) -> tuple[str, Path, Path | str]:
    """(format, config file, weights) of a checkpoint dir or TF checkpoint prefix."""
    p = Path(path)
    if not p.is_dir():
        if Path(f"{p}.index").is_file():
            if not (p.parent / "bert_config.json").is_file():
                raise FileNotFoundError(f"{p} is a TF checkpoint, but {p.parent}/bert_config.json (its model "
                                        f"configuration) is missing; put the bert_config.json that came with it there.")
            return "google", p.parent / "bert_config.json", str(p)
        what = "is a file, not a directory" if p.exists() else "does not exist"
        raise FileNotFoundError(f"BERT checkpoint {p} {what}; expected {EXPECTED}")
    names = {f.name for f in p.iterdir()}
    if "config.json" in names:
        config = read_json(p / "config.json")
        if "registered_name" in config:
            return "keras", p / "config.json", p
        if names & {"model.safetensors", "model.safetensors.index.json"}:
            return "huggingface", p / "config.json", p
        if "pytorch_model.bin" in names:
            raise ValueError(
                f"{p} holds only pytorch_model.bin; this loader reads safetensors, not pickled torch files. "
                f"Convert once where transformers is installed:\n  python -c \"from transformers import BertModel; "
                f"BertModel.from_pretrained('{p}').save_pretrained('{p}', safe_serialization=True)\"")
    if "bert_config.json" in names:
        prefixes = sorted(n[:-len(".index")] for n in names if n.endswith(".index"))
        if not prefixes:
            raise FileNotFoundError(f"{p} has bert_config.json but no TF checkpoint next to it "
                                    f"(bert_model.ckpt.index + bert_model.ckpt.data-*); was the download complete?")
        if "bert_model.ckpt" in prefixes:
            prefix = "bert_model.ckpt"
        elif len(prefixes) == 1:
            prefix = prefixes[0]
        else:
            raise ValueError(f"{p} holds several TF checkpoints ({', '.join(prefixes)}); pass the one to load "
                             f"as a prefix, e.g. {p / prefixes[-1]}")
        if not any(n.startswith(f"{prefix}.data-") for n in names):
            raise FileNotFoundError(f"{p / prefix}.index has no {prefix}.data-* file beside it: the checkpoint "
                                    f"is incomplete; download it again.")
        return "google", p / "bert_config.json", str(p / prefix)
    shown = ", ".join(sorted(names)[:12]) + (", ..." if len(names) > 12 else "") or "nothing"
    raise FileNotFoundError(f"{p} is not a BERT checkpoint (it holds: {shown}); expected {EXPECTED}")


def _config(fmt: str, config_file: Path) -> dict:
    raw = read_json(config_file)
    if fmt == "keras":
        if raw.get("class_name") != "BertBackbone":
            raise ValueError(f"{config_file} describes a {raw.get('class_name')}, not a BertBackbone")
        return {"format": fmt, **{k: raw["config"][k] for k in BACKBONE_KEYS}, "hidden_act": "gelu"}
    if raw.get("model_type", "bert") != "bert":
        raise ValueError(f"{config_file}: model_type is {raw['model_type']!r}; only BERT checkpoints "
                         f"(model_type 'bert') load into BertBackbone.")
    missing = [k for k in _FROM_BERT_CONFIG.values() if k not in raw]
    if missing:
        raise ValueError(f"{config_file} lacks {', '.join(missing)}; is it a BERT config?")
    act = raw.get("hidden_act", "gelu")
    if act not in GELU_NAMES:
        raise ValueError(f"{config_file}: hidden_act={act!r} is not supported: keras-hub's BertBackbone always "
                         f"uses GELU (tanh approximation), so only {', '.join(GELU_NAMES)} load faithfully.")
    if raw.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{config_file}: position_embedding_type={raw['position_embedding_type']!r} is not "
                         f"supported; BertBackbone has learned absolute position embeddings only.")
    if raw["hidden_size"] % raw["num_attention_heads"]:
        raise ValueError(f"{config_file}: hidden_size {raw['hidden_size']} is not a multiple of "
                         f"num_attention_heads {raw['num_attention_heads']}")
    out = {k: int(raw[v]) for k, v in _FROM_BERT_CONFIG.items()}
    return {"format": fmt, **out, "num_segments": int(raw.get("type_vocab_size", 2)),
            "dropout": float(raw.get("hidden_dropout_prob", 0.1)), "hidden_act": act}


def read_config(path) -> dict:
    """The checkpoint's format plus BertBackbone's constructor arguments (JSON-able), weights unread."""
    fmt, config_file, _ = _locate(path)
    return _config(fmt, config_file)


def _check_vocab(directory: Path, config: dict, config_file: Path) -> None:
    vocab_file = directory / "vocab.txt"
    n = len(load_vocab(vocab_file)) if vocab_file.is_file() else 0
    if n > config["vocabulary_size"]:  # a larger embedding than vocab is fine (padded for speed), a smaller one not
        raise ValueError(f"{vocab_file} has {n} tokens but {config_file.name} says "
                         f"vocab_size={config['vocabulary_size']}: the tokenizer would emit ids the model has no "
                         f"embedding for. The vocab and the checkpoint do not belong together.")


def load_backbone(path, dropout: float | None = None):
    """A `keras_hub.models.BertBackbone` with the pretrained weights at `path` (see EXPECTED).

    dropout: None keeps the checkpoint's hidden_dropout_prob.
    """
    import_keras()
    import keras_hub

    fmt, config_file, weights = _locate(path)
    config = _config(fmt, config_file)
    _check_vocab(config_file.parent, config, config_file)
    kwargs = {k: config[k] for k in BACKBONE_KEYS}
    if dropout is not None:
        kwargs["dropout"] = float(dropout)
    if fmt == "keras":
        return keras_hub.models.BertBackbone.from_preset(str(weights), **({} if dropout is None else
                                                                            {"dropout": kwargs["dropout"]}))
    if fmt == "huggingface":
        from safetensors import SafetensorError
        _check_safetensors(weights, config, config_file)
        try:  # keras-hub's converter ignores type_vocab_size and hidden_dropout_prob: pass them ourselves
            return keras_hub.models.BertBackbone.from_preset(str(weights), num_segments=kwargs["num_segments"],
                                                             dropout=kwargs["dropout"])
        except (KeyError, ValueError, SafetensorError) as e:
            raise ValueError(f"{weights}: the safetensors weights do not fit config.json ({type(e).__name__}: "
                             f"{str(e)[:300]}); use the files that were published together.") from e
    backbone = keras_hub.models.BertBackbone(**kwargs)
    _assign_google(backbone, weights, config_file)
    return backbone


def random_backbone(vocabulary_size: int, num_layers: int = 2, hidden_dim: int = 128, num_heads: int = 2,
                    intermediate_dim: int = 256, max_sequence_length: int = 256, dropout: float = 0.1):
    """A freshly initialised small BERT, for training from scratch on a sample."""
    import_keras()
    import keras_hub
    return keras_hub.models.BertBackbone(vocabulary_size=vocabulary_size, num_layers=num_layers, num_heads=num_heads,
                                         hidden_dim=hidden_dim, intermediate_dim=intermediate_dim, dropout=dropout,
                                         max_sequence_length=max_sequence_length)


# ---------------------------------------------------------------- name and shape checks before loading

def _shape_problems(found: dict, expected: dict, config_file: Path, layer_pattern: str, num_layers: int) -> list[str]:
    """What is missing or mis-shaped, in words; the layer count first, since it explains the rest."""
    problems = []
    for name, shape in expected.items():
        if name not in found:
            problems.append(f"missing variable {name!r} (expected shape {shape})")
        elif tuple(found[name]) != shape:
            problems.append(f"variable {name!r} has shape {tuple(found[name])} but {config_file.name} implies {shape}")
    layers = {int(m.group(1)) for n in found if (m := re.match(layer_pattern, n))}
    if layers and max(layers) + 1 != num_layers:
        problems.insert(0, f"the checkpoint has {max(layers) + 1} encoder layers but {config_file.name} says "
                           f"num_hidden_layers={num_layers}")
    return problems


def _raise_problems(problems: list[str], what: str, config_file: Path) -> None:
    if problems:
        more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise ValueError(f"{what} does not match {config_file}:\n  " + "\n  ".join(problems[:10]) + more
                         + f"\nUse the {config_file.name} that was published with these weights.")


def _check_safetensors(directory: Path, config: dict, config_file: Path) -> None:
    """Names and shapes of model.safetensors against config.json, read from its header only."""
    from safetensors import SafetensorError, safe_open
    file = directory / "model.safetensors"
    if not file.is_file():
        return  # sharded (model.safetensors.index.json): left to keras-hub's loader
    try:
        with safe_open(str(file), "np") as f:
            found = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except SafetensorError as e:
        raise ValueError(f"cannot read {file} ({e}); the file is damaged or incomplete: download it again.") from None
    # BertModel saves bare names, BertFor* a "bert." scope; keras-hub accepts both, and gamma/beta for weight/bias
    word = "embeddings.word_embeddings.weight"
    scope = next((k[:-len(word)] for k in found if k.endswith(word)), "")
    if f"{scope}embeddings.LayerNorm.gamma" in found:
        found = {re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", k)): v
                 for k, v in found.items()}
    h, f, n = config["hidden_dim"], config["intermediate_dim"], config["num_layers"]
    expected = {word: (config["vocabulary_size"], h),
                "embeddings.position_embeddings.weight": (config["max_sequence_length"], h),
                "embeddings.token_type_embeddings.weight": (config["num_segments"], h),
                "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,),
                "pooler.dense.weight": (h, h), "pooler.dense.bias": (h,)}
    for i in range(n):
        for name, shape in (("attention.self.query", (h, h)), ("attention.self.key", (h, h)),
                            ("attention.self.value", (h, h)), ("attention.output.dense", (h, h)),
                            ("attention.output.LayerNorm", (h,)), ("intermediate.dense", (f, h)),
                            ("output.dense", (h, f)), ("output.LayerNorm", (h,))):
            expected[f"encoder.layer.{i}.{name}.weight"] = shape
            expected[f"encoder.layer.{i}.{name}.bias"] = shape[:1]
    expected = {scope + k: v for k, v in expected.items()}
    _raise_problems(_shape_problems(found, expected, config_file, re.escape(scope) + r"encoder\.layer\.(\d+)\.", n),
                    str(file), config_file)


# ---------------------------------------------------------------- Google TF checkpoints

def _google_plan(backbone) -> list[tuple]:
    """(keras variable, checkpoint name without the "bert/" scope, checkpoint shape) for every weight.

    Google's kernels are (in, out) like Keras Dense ones; keras-hub's attention splits the head
    axis out of them, (hidden, heads, head_dim) and (heads, head_dim, hidden): a plain reshape.
    """
    h = backbone.hidden_dim
    layer = backbone.get_layer
    plan = [(layer("token_embedding").embeddings, "embeddings/word_embeddings", None),
            (layer("position_embedding").position_embeddings, "embeddings/position_embeddings", None),
            (layer("segment_embedding").embeddings, "embeddings/token_type_embeddings", None),
            (layer("embeddings_layer_norm").gamma, "embeddings/LayerNorm/gamma", None),
            (layer("embeddings_layer_norm").beta, "embeddings/LayerNorm/beta", None)]
    for i in range(backbone.num_layers):
        block, scope = layer(f"transformer_layer_{i}"), f"encoder/layer_{i}"
        attn = block._self_attention_layer
        for dense, name in ((attn.query_dense, "query"), (attn.key_dense, "key"), (attn.value_dense, "value")):
            plan += [(dense.kernel, f"{scope}/attention/self/{name}/kernel", (h, h)),
                     (dense.bias, f"{scope}/attention/self/{name}/bias", (h,))]
        plan += [(attn.output_dense.kernel, f"{scope}/attention/output/dense/kernel", (h, h)),
                 (attn.output_dense.bias, f"{scope}/attention/output/dense/bias", None),
                 (block._self_attention_layer_norm.gamma, f"{scope}/attention/output/LayerNorm/gamma", None),
                 (block._self_attention_layer_norm.beta, f"{scope}/attention/output/LayerNorm/beta", None),
                 (block._feedforward_intermediate_dense.kernel, f"{scope}/intermediate/dense/kernel", None),
                 (block._feedforward_intermediate_dense.bias, f"{scope}/intermediate/dense/bias", None),
                 (block._feedforward_output_dense.kernel, f"{scope}/output/dense/kernel", None),
                 (block._feedforward_output_dense.bias, f"{scope}/output/dense/bias", None),
                 (block._feedforward_layer_norm.gamma, f"{scope}/output/LayerNorm/gamma", None),
                 (block._feedforward_layer_norm.beta, f"{scope}/output/LayerNorm/beta", None)]
    plan += [(layer("pooled_dense").kernel, "pooler/dense/kernel", None),
             (layer("pooled_dense").bias, "pooler/dense/bias", None)]
    return [(v, name, tuple(shape or v.shape)) for v, name, shape in plan]


def _assign_google(backbone, prefix: str, config_file: Path) -> None:
    import tensorflow as tf
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError) as e:
        raise ValueError(f"cannot read the TF checkpoint {prefix} ({e}); the .index/.data-* files are damaged, "
                         f"incomplete or git-lfs pointers: download them again.") from None
    shapes = reader.get_variable_to_shape_map()
    # the "bert/" scope is conventional, not guaranteed: take whatever scope the word embeddings sit in
    scopes = [n[:-len("embeddings/word_embeddings")] for n in shapes if n.endswith("embeddings/word_embeddings")]
    scope = scopes[0] if len(scopes) == 1 else "bert/"
    plan = _google_plan(backbone)
    problems = _shape_problems(shapes, {scope + name: shape for _, name, shape in plan}, config_file,
                               re.escape(scope) + r"encoder/layer_(\d+)/", backbone.num_layers)
    _raise_problems(problems, f"TF checkpoint {prefix}", config_file)
    for var, name, _ in plan:
        var.assign(reader.get_tensor(scope + name).reshape(var.shape).astype(var.dtype))
    used = {scope + name for _, name, _ in plan}
    unused = sorted(n for n in shapes if n.startswith(scope) and n not in used and not _OPTIMIZER_SLOTS.search(n))
    if unused:
        warnings.warn(f"{prefix}: {len(unused)} variable(s) under {scope!r} were not loaded, e.g. {unused[:3]}",
                      stacklevel=3)
