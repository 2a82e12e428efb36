#!/usr/bin/env bash
# Create bench/peers/.venv with RecBole 1.2.1 + torch (CPU use) at the versions pinned in
# requirements.txt. Idempotent: when the venv exists and was built from the same
# requirements.txt, it only checks that the imports work (about a second).
#
#   bash bench/peers/setup.sh            # create / update
#   PYTHON=python3.11 bash bench/peers/setup.sh
#   FORCE=1 bash bench/peers/setup.sh    # reinstall the pins even if the stamp matches
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
REQ="$HERE/requirements.txt"
STAMP="$VENV/.requirements.sha256"
PY="${PYTHON:-python3}"

want="$(sha256sum "$REQ" | cut -d' ' -f1)"

check() {
  "$VENV/bin/python" - <<'PY'
import os, warnings
os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
warnings.filterwarnings("ignore")
import numpy, torch, recbole
from recbole.quick_start import run_recbole  # imports ray, tensorboard, thop ...
from recbole.config import Config
from recbole.data import create_dataset, data_preparation
from recbole.utils import get_model, get_trainer
print(f"ok: recbole {recbole.__version__}, torch {torch.__version__}, numpy {numpy.__version__}")
PY
}

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -z "${FORCE:-}" ]]; then
  check && exit 0
  echo "venv exists but imports fail; reinstalling" >&2
fi

ver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
case "$ver" in
  3.9|3.10|3.11) ;;
  *) echo "need Python 3.9-3.11 (numpy 1.23.5 has no wheels for $ver); set PYTHON=" >&2; exit 1 ;;
esac

if [[ ! -x "$VENV/bin/python" ]]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade "pip>=24"
# torch first (largest download; other tools use this venv's torch too), then the rest.
"$VENV/bin/python" -m pip install --quiet "$(grep -E '^torch==' "$REQ")"
"$VENV/bin/python" -m pip install --quiet -r "$REQ"
check
echo "$want" > "$STAMP"
