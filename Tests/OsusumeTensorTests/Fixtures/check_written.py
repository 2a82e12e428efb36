"""Reads the file that OsusumeTensorTests.testWritesSafetensorsForPython writes and checks it with
Python's safetensors (and torch), proving the other direction of the interchange:

    swift test --filter testWritesSafetensorsForPython   # writes $TMPDIR/osusume-interchange-written.safetensors
    python check_written.py [path]
"""
import os
import sys
import tempfile

import torch
from safetensors import safe_open

path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), "osusume-interchange-written.safetensors")
with safe_open(path, framework="pt") as f:
    meta = f.metadata()
    assert meta.get("producer") == "osusume", meta
    w = f.get_tensor("layer.weight")
    b = f.get_tensor("layer.bias")
assert w.dtype == torch.float32 and list(w.shape) == [2, 3], (w.dtype, w.shape)
assert torch.equal(w, torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4 - 0.5), w
assert torch.equal(b, torch.tensor([1.5, -2.25])), b
print("ok: Python read Osusume's safetensors file", path)
