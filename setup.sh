#!/usr/bin/env bash
# Set up a virtual environment in .venv with everything rnnrbm needs.
#   ./setup.sh          runtime dependencies
#   ./setup.sh --test   runtime dependencies and pytest
# PYTHON picks the interpreter (default python3; Python 3.11 or newer).
set -euo pipefail
cd "$(dirname "$0")"
python=${PYTHON:-python3}

# PyTensor's C backend links OpenBLAS when it can find it (rnnrbm.link_openblas);
# without it, training is about twice as slow. Debian/Ubuntu package, installed
# when we are root or have password-less sudo.
have_openblas() { [[ "$(${CXX:-g++} -print-file-name=libopenblas.so 2>/dev/null)" == /* ]]; }
if ! have_openblas && command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  echo "setup.sh: installing OpenBLAS (libopenblas-dev)"
  { $sudo apt-get update -qq && $sudo apt-get install -y -qq libopenblas-dev; } >/dev/null 2>&1 \
    || echo "setup.sh: could not install libopenblas-dev; training will run without BLAS (slower)" >&2
fi

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup.sh: $python is older than Python 3.11" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install --quiet 'pytest>=8'
fi
echo "setup.sh: ready (.venv/bin/python)"
