#!/usr/bin/env bash
# Fetch the Nottingham database (MIDI files) used by the RNN-RBM tutorial and
# unpack it to DEST/Nottingham/{train,valid,test}/*.mid (DEST defaults to the
# data/ folder next to this script). Optionally also fetch the piano-roll
# versions of the paper's four data sets (Nottingham.pickle, "JSB Chorales.pickle",
# MuseData.pickle, Piano-midi.de.pickle), which its results use. `--from FOLDER`
# takes all of it from a local folder, without the network.
#
# Every run is atomic: files are downloaded and unpacked inside a temporary
# folder in DEST (same filesystem, so the final `mv` is a rename) and only
# moved into place once validated; the temporary folder is always removed.
# The MIDI folder and each pickle are replaced atomically, one after the other.
# The downloaded zip is not kept: DEST/Nottingham holds everything it contains.
set -euo pipefail

prog=download.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# NOTTINGHAM_URLS (the zip's URLs) and PICKLE_BASE_URLS (folders holding the
# pickles; each pickle is fetched from BASE/NAME), both space-separated, replace
# the defaults; they exist for tests, to exercise network failures without
# internet. PYTHON picks the interpreter used to validate and unpack (default python3).
zip_urls=${NOTTINGHAM_URLS:-"http://www.iro.umontreal.ca/~lisa/deep/data/Nottingham.zip http://www-etud.iro.umontreal.ca/~boulanni/Nottingham.zip"}
pickle_bases=${PICKLE_BASE_URLS:-"http://www-etud.iro.umontreal.ca/~boulanni"}
pickle_names=("Nottingham.pickle" "JSB Chorales.pickle" "MuseData.pickle" "Piano-midi.de.pickle")
python=${PYTHON:-python3}

# pickle_urls NAME: the default URLs of pickle NAME, one per line (spaces in
# NAME URL-encoded).
pickle_urls() {
  local base bases
  read -ra bases <<<"$pickle_bases"
  for base in "${bases[@]}"; do printf '%s/%s\n' "$base" "${1// /%20}"; done
}

usage() {
  cat <<EOF
Usage: $prog [options]

Download the Nottingham database and unpack it to DEST/Nottingham/{train,valid,test};
optionally also the paper's four piano-roll data sets (pickles) to DEST.

Without internet, put Nottingham.zip and the four pickles in a folder and run
  $prog --from FOLDER
which takes everything from FOLDER and never uses the network.

Options:
  --from SOURCE         where to take the data from instead of the default URLs:
                        - a folder: Nottingham.zip and the four pickles, all from
                          that folder (implies --pickle; no network)
                        - a local file or a URL: Nottingham.zip only
                        (env: NOTTINGHAM_ZIP)
  --pickle              also fetch the paper's four piano-roll data sets to DEST:
                        Nottingham.pickle, "JSB Chorales.pickle", MuseData.pickle,
                        Piano-midi.de.pickle
  --pickle-from SOURCE  take Nottingham.pickle from SOURCE (local file or URL) and
                        fetch it even without --pickle (env: NOTTINGHAM_PICKLE)
  --dest DIR            destination folder (default: $here/data)
  --force               re-fetch even if the data is already there
  -h, --help            show this help

Default sources:
  Nottingham.zip, tried in order:
$(set -f; printf '    %s\n' $zip_urls)
  pickles:
$(for name in "${pickle_names[@]}"; do pickle_urls "$name"; done | sed 's/^/    /')
EOF
}

die() { echo "$prog: error: $*" >&2; exit 1; }

zip_src=${NOTTINGHAM_ZIP:-}
pickle_src=${NOTTINGHAM_PICKLE:-}
want_pickle=0  # 1: the four pickles
pickle_from=0  # 1: --pickle-from, which wants Nottingham.pickle at least
force=0
dest=$here/data
while [ $# -gt 0 ]; do
  case $1 in
    --from) [ $# -ge 2 ] || die "--from needs a SOURCE"; zip_src=$2; shift 2 ;;
    --from=*) zip_src=${1#*=}; shift ;;
    --pickle) want_pickle=1; shift ;;
    --pickle-from) [ $# -ge 2 ] || die "--pickle-from needs a SOURCE"
                   pickle_src=$2; shift 2; pickle_from=1 ;;
    --pickle-from=*) pickle_src=${1#*=}; shift; pickle_from=1 ;;
    --dest) [ $# -ge 2 ] || die "--dest needs a DIR"; dest=$2; shift 2 ;;
    --dest=*) dest=${1#*=}; shift ;;
    --force) force=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$prog: unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$dest" ] || die "--dest is empty"
target=$dest/Nottingham

# --from FOLDER: everything from FOLDER.
from_dir=""
if [ -n "$zip_src" ] && [ -d "$zip_src" ]; then
  from_dir=$zip_src
  zip_src=$from_dir/Nottingham.zip
  want_pickle=1
fi

# "Present" means each split folder holds MIDI files (.mid or .midi, any case).
have_midi() {
  local split
  for split in train valid test; do
    [ -n "$(find "$target/$split" -maxdepth 1 -type f \( -iname '*.mid' -o -iname '*.midi' \) \
              -print -quit 2>/dev/null)" ] || return 1
  done
}

need_zip=1
if [ "$force" = 0 ] && have_midi; then
  echo "$prog: Nottingham MIDI files already in $target (use --force to re-fetch)"
  need_zip=0
elif [ "$force" = 0 ] && [ -e "$target" ]; then
  # Not written by us (our moves are atomic), so don't overwrite it silently.
  die "$target exists but lacks train/valid/test MIDI files; remove it or use --force"
fi
if [ "$want_pickle" = 1 ]; then wanted=("${pickle_names[@]}")
elif [ "$pickle_from" = 1 ]; then wanted=(Nottingham.pickle)
else wanted=()
fi
needed=()  # the wanted pickles not yet in DEST (all of them with --force)
for name in "${wanted[@]}"; do
  if [ "$force" = 0 ] && [ -f "$dest/$name" ]; then
    echo "$prog: $dest/$name already there (use --force to re-fetch)"
  else
    needed+=("$name")
  fi
done
[ "$need_zip" = 1 ] || [ "${#needed[@]}" -gt 0 ] || exit 0

# pickle_sources NAME: where to take pickle NAME from, one source per line.
pickle_sources() {
  if [ "$1" = Nottingham.pickle ] && [ -n "$pickle_src" ]; then echo "$pickle_src"
  elif [ -n "$from_dir" ]; then echo "$from_dir/$1"
  else pickle_urls "$1"
  fi
}

# With --from FOLDER, check that FOLDER has every file to take from it before
# fetching any.
if [ -n "$from_dir" ]; then
  missing=()
  if [ "$need_zip" = 1 ]; then [ -f "$zip_src" ] || missing+=(Nottingham.zip); fi
  for name in "${needed[@]}"; do
    if [ "$(pickle_sources "$name")" = "$from_dir/$name" ] && [ ! -f "$from_dir/$name" ]; then
      missing+=("$name")
    fi
  done
  [ "${#missing[@]}" = 0 ] || die "$from_dir lacks $(printf '"%s" ' "${missing[@]}")(--from FOLDER takes" \
    "Nottingham.zip and the four pickles from FOLDER; --from FOLDER/Nottingham.zip takes the MIDI files alone)"
fi

command -v "$python" >/dev/null 2>&1 || die "$python not found (it checks and unpacks the files)"
mkdir -p "$dest" || die "cannot create destination folder $dest"
work=$(mktemp -d "$dest/.download.XXXXXX") || die "cannot create a temporary folder in $dest"
# Remove the temporary folder however the script ends; turn signals into exits
# so the EXIT trap runs on Ctrl-C / kill too.
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fetch SOURCE OUT: copy a local file or download a URL to OUT. On failure,
# print one line saying why on stderr and return 1.
fetch() {
  local src=$1 out=$2 err
  case $src in
    *://*) ;;
    *) if [ -f "$src" ] && [ -r "$src" ]; then
         cp "$src" "$out" && return 0
         echo "$prog: cannot copy $src" >&2; return 1
       fi
       echo "$prog: $src: no such readable file" >&2; return 1 ;;
  esac
  # Connect timeout: a dead network fails in 20 s. No overall time limit (slow
  # links are fine), but a transfer stalled for 60 s is abandoned. curl -g:
  # take [] and {} in URLs literally.
  if command -v curl >/dev/null 2>&1; then
    err=$(curl -fsSL -g --connect-timeout 20 --speed-limit 1 --speed-time 60 \
               -o "$out" "$src" 2>&1) && return 0
  elif command -v wget >/dev/null 2>&1; then
    # wget retries 20 times by default; once more is enough.
    err=$(wget -nv -O "$out" --connect-timeout=20 --read-timeout=60 --tries=2 \
               "$src" 2>&1) && return 0
    err="wget: $err"
  else
    echo "$prog: cannot download $src: neither curl nor wget is installed (use --from FILE)" >&2
    return 1
  fi
  echo "$prog: download of $src failed: ${err//$'\n'/ }" >&2
  return 1
}

# check_zip ZIP: check ZIP is an intact archive with MIDI files in each of
# Nottingham/{train,valid,test}/ and extract its Nottingham/ folder into
# $work/unpacked. Python's zipfile, since unzip is often missing while python3
# is always there.
check_zip() {
  "$python" - "$1" "$work/unpacked" <<'PY'
import sys, zipfile
path, out = sys.argv[1], sys.argv[2]
try:
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()  # reads every member and checks its CRC
        if bad is not None:
            sys.exit(f"not a valid zip archive (corrupt member {bad})")
        counts = {s: sum(1 for n in z.namelist() if n.startswith(f"Nottingham/{s}/")
                         and n.lower().endswith((".mid", ".midi")))
                  for s in ("train", "valid", "test")}
        missing = [s for s, c in counts.items() if c == 0]
        if missing:
            sys.exit("no MIDI files (.mid, .midi) in "
                     + ", ".join(f"Nottingham/{s}/" for s in missing))
        # Only the Nottingham/ tree (skips e.g. __MACOSX/); extractall
        # neutralises absolute paths and '..' in member names.
        z.extractall(out, [n for n in z.namelist() if n.startswith("Nottingham/")])
except Exception as e:  # BadZipFile, zlib.error, EOFError, OSError...
    sys.exit(f"not a valid zip archive ({e})")
print(", ".join(f"{c} {s}" for s, c in counts.items()))
PY
}

# check_pickle FILE: check FILE is a pickled dict with train/valid/test lists.
# It comes over plain HTTP, so it is not trusted: the unpickler refuses every
# global (class/function) reference, which blocks code execution; the real
# file only holds dicts, lists and ints, which need none. (Checking the header
# bytes alone would accept truncated files.) latin1 reads Python 2 pickles.
check_pickle() {
  "$python" - "$1" <<'PY'
import pickle, sys
class Plain(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refers to {module}.{name}")
try:
    with open(sys.argv[1], "rb") as f:
        d = Plain(f, encoding="latin1").load()
except Exception as e:
    sys.exit(f"not a readable pickle ({type(e).__name__}: {e})")
if not isinstance(d, dict) or not all(isinstance(d.get(k), list) and d[k]
                                      for k in ("train", "valid", "test")):
    sys.exit("not a dict with non-empty train/valid/test lists")
print(", ".join(f"{len(d[k])} {k}" for k in ("train", "valid", "test")))
PY
}

# obtain NAME CHECK SOURCE...: fetch each SOURCE in turn to $work/NAME until
# `CHECK $work/NAME` accepts it; CHECK's output (a summary) goes to $summary.
obtain() {
  local name=$1 check=$2 src msg
  shift 2
  for src in "$@"; do
    rm -rf "${work:?}/$name" "$work/unpacked"
    echo "$prog: fetching $src"
    fetch "$src" "$work/$name" || continue
    if msg=$("$check" "$work/$name" 2>&1); then summary=$msg; return 0; fi
    echo "$prog: $src: $msg" >&2
  done
  return 1
}

if [ "$need_zip" = 1 ]; then
  # A --from source stays one word even with spaces in it; the URL lists are
  # split on spaces, without glob expansion (URLs may contain '?').
  if [ -n "$zip_src" ]; then set -- "$zip_src"; else set -f; set -- $zip_urls; set +f; fi
  obtain Nottingham.zip check_zip "$@" \
    || die "could not get a valid Nottingham.zip from: $*"
  # Swap in the new tree; an old one (--force) goes to $work and is deleted.
  if [ -e "$target" ]; then mv "$target" "$work/old"; fi
  mv "$work/unpacked/Nottingham" "$target" || {
    if [ -e "$work/old" ]; then mv "$work/old" "$target"; fi
    die "cannot move the unpacked files to $target"
  }
  echo "$prog: Nottingham MIDI files ($summary) in $target"
fi

for name in "${needed[@]}"; do
  sources=()
  while IFS= read -r source; do sources+=("$source"); done < <(pickle_sources "$name")
  set -- "${sources[@]}"
  obtain "$name" check_pickle "$@" || die "could not get a valid $name from: $*"
  mv -f "$work/$name" "$dest/$name"
  echo "$prog: $name ($summary sequences) in $dest"
done
