#!/usr/bin/env bash
# Set up a virtual environment in .venv with everything rnnrbm needs.
#   ./setup.sh          runtime dependencies
#   ./setup.sh --test   runtime dependencies and pytest
# PYTHON picks the interpreter (default python3; Python 3.11 or newer).
set -euo pipefail
cd "$(dirname "$0")"
python=${PYTHON:-python3}

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup.sh: $python is older than Python 3.11" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install --quiet 'pytest>=8'
fi
echo "setup.sh: ready (.venv/bin/python)"
