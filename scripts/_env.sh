# Sourced by the other scripts: make sure .venv exists and holds this project, installed with the
# extras asked for, and reinstall only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON_BIN="${PYTHON:-python3}"

swnode_env() {
  local extras="${1:-}"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "creating $VENV" >&2
    "$PYTHON_BIN" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip >"$VENV/pip.log" 2>&1 \
      || { cat "$VENV/pip.log" >&2; exit 1; }
  fi
  local stamp="$VENV/.swnode-installed${extras:+-$extras}"
  if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "installing swnode${extras:+[$extras]} into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT${extras:+[$extras]}" >"$VENV/pip.log" 2>&1 \
      || { cat "$VENV/pip.log" >&2; exit 1; }
    touch "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}
