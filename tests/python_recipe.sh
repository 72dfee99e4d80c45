#!/usr/bin/env bash
# tests/python_recipe.sh — runs the Python recipe of docs/results.md (the
# block between <!-- recipe:begin --> and <!-- recipe:end -->) on a fresh
# tiny IsoFLOP sweep, with Debian's python3 (sqlite3, pandas, matplotlib),
# and checks what it prints and draws. ctest runs it (CMakeLists.txt).
# usage: tests/python_recipe.sh SCALING_BIN SOURCE_DIR
set -euo pipefail
S=$(realpath "$1")
src=$(realpath "$2")
py=/usr/bin/python3 # Debian's, where python3-pandas installs (not a pyenv one)
tmp=$(mktemp -d /tmp/scaling-recipe.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$py" -c 'import pandas, matplotlib' || {
  echo "python_recipe: $py lacks pandas or matplotlib (apt-get install python3-pandas python3-matplotlib)" >&2
  exit 1
}
# a generated corpus: 60 documents of pseudo-English
"$py" - <<'PY'
import os, random
random.seed(5)
w = "the of and to a in that is was he for it with as his on be at by had are but".split()
os.makedirs("corpus")
for d in range(60):
    with open(f"corpus/doc{d:03d}.txt", "w") as f:
        prev = 0
        for s in range(40):
            out = []
            for _ in range(random.randint(6, 15)):
                u = random.random()
                prev = (prev * 7 + 3) % len(w) if u < 0.5 else int(len(w) * u * u)
                out.append(w[prev])
            f.write(" ".join(out) + ".\n")
PY
"$S" data prepare corpus --out data --ctx 64 >/dev/null
cat > tiny.ini <<'INI'
[sweep]
name = tiny
mode = isoflop
data = data
n_ctx = 32
batch = 8
head_size = 8
lr = 3e-3
warmup_frac = 0.1
evals = 3
eval_windows = 16
log_every = 5
[iso]
budget = 2e9, 8e9
shapes = 1x8, 1x16, 2x24
INI
"$S" sweep tiny.ini --db r.db --quiet >/dev/null
# six tiny runs: inside Approach 3's domain too few are left, so every run is fitted
"$S" fit --db r.db --approach 3 --bootstrap 10 --starts 16 --a3-domain all >/dev/null
sed -n '/<!-- recipe:begin -->/,/<!-- recipe:end -->/p' "$src/docs/results.md" |
  sed '1,2d;$d' | sed '$d' >recipe.py
out=$("$py" recipe.py r.db tiny isoflop.png)
echo "$out"
grep -q "sweep tiny: 6 runs, 44 evals, .* steps, 1 fits" <<<"$out" || { echo "python_recipe: unexpected counts" >&2; exit 1; }
grep -q "^approach3: a = " <<<"$out" || { echo "python_recipe: no fit read" >&2; exit 1; }
grep -q "^minima: C=2e+09: N=" <<<"$out" || { echo "python_recipe: no minima" >&2; exit 1; }
[ -s isoflop.png ] || { echo "python_recipe: no figure written" >&2; exit 1; }
echo "python_recipe: ok"
