"""Writes interchange.safetensors with PyTorch + safetensors, to prove that Osusume reads files
written by Python. Run from this folder with a venv holding torch and safetensors:

    python make_fixture.py

The values are simple closed forms, so the Swift test can check every one of them.
"""
import torch
from safetensors.torch import save_file

tensors = {
    # A module-shaped state dict: dotted names as Osusume's modules spell them.
    "layer.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4 - 0.5,
    "layer.bias": torch.tensor([1.5, -2.25], dtype=torch.float32),
    # Other dtypes that the reader converts to Float32 / Int32.
    "f64": torch.tensor([[0.1, -1e10], [3.0, 2.5e-5]], dtype=torch.float64),
    "f16": torch.tensor([1.0, -0.5, 65504.0, 6.103515625e-05], dtype=torch.float16),
    "bf16": torch.tensor([1.0, -3.0, 0.15625], dtype=torch.bfloat16),
    "i64": torch.tensor([0, -7, 123456789], dtype=torch.int64),
    "i32": torch.tensor([[1, 2], [3, -4]], dtype=torch.int32),
    "scalar": torch.tensor(2.5, dtype=torch.float32),
}
save_file(tensors, "interchange.safetensors", metadata={"producer": "make_fixture.py", "format": "pt"})
print("wrote interchange.safetensors")
