#!/usr/bin/env bash
# Set up a virtual environment with everything rnnrbm needs, rnnrbm installed in it.
#   ./setup.sh          runtime dependencies
#   ./setup.sh --test   runtime dependencies and pytest
# PYTHON picks the interpreter (default python3; Python 3.11 or newer) and VENV
# the environment's folder (default .venv beside this script; a relative VENV
# is taken from the current folder), e.g.
#   VENV=.venv-3.13 PYTHON=python3.13 ./setup.sh --test
# An existing environment is reused only if it was made by the same Python
# version (major.minor); one made by another version is refused, not replaced.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-python3}
venv=${VENV:-$here/.venv}

die() { echo "setup.sh: $*" >&2; exit 1; }

case ${1:-} in
  ""|--test) ;;
  *) echo "setup.sh: unknown option: $1 (the only option is --test)" >&2; exit 2 ;;
esac

# The interpreter and the environment are checked before anything is installed.
command -v "$python" >/dev/null 2>&1 \
  || die "$python: not found (set PYTHON to a Python 3.11 or newer)"
# A pyenv shim is found but refuses to run when its version is not selected.
version=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>&1) \
  && [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] \
  || die "$python does not run: $(head -n 1 <<<"$version")"
IFS=. read -r major minor _ <<<"$version"
(( major > 3 || (major == 3 && minor >= 11) )) \
  || die "$python is Python $version, older than 3.11 (set PYTHON to a newer one)"

if [ -e "$venv" ]; then
  [ -f "$venv/pyvenv.cfg" ] \
    || die "$venv exists but is not a virtual environment; remove it or set VENV to another folder"
  made_by=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \
    || die "$venv is broken (its python does not run); remove it and run setup.sh again"
  [ "$made_by" = "$major.$minor" ] \
    || die "$venv was made by Python $made_by, not $major.$minor ($python); remove it or set VENV to another folder"
else
  "$python" -m venv "$venv" \
    || { rm -rf "$venv"; die "$python could not make a virtual environment in $venv (Debian/Ubuntu: install python3-venv)"; }
  echo '*' >"$venv/.gitignore"  # git ignores the environment, as Python 3.13's venv arranges itself
fi

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

"$venv/bin/python" -m pip install --quiet --upgrade pip
# The project itself, editable (its dependencies are requirements.txt): `import
# rnnrbm` and the `rnnrbm` command then work from any folder, on this checkout.
"$venv/bin/python" -m pip install --quiet -e "$here"
if [ "${1:-}" = "--test" ]; then
  "$venv/bin/python" -m pip install --quiet 'pytest>=8'
fi
echo "setup.sh: ready ($venv/bin/python, Python $version)"
