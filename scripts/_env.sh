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

# promtool checks and unit-tests deploy/prometheus's alert rules. Debian's prometheus package
# ships it; install that (without the server's recommends) when promtool is missing.
swnode_promtool() {
  command -v promtool >/dev/null 2>&1 && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || {
      echo "promtool not found and packages cannot be installed: the alert rule tests skip" >&2
      return 0
    }
    sudo="sudo -n"
  fi
  command -v apt-get >/dev/null 2>&1 || {
    echo "promtool not found and there is no apt-get: the alert rule tests skip" >&2
    return 0
  }
  echo "installing promtool (Debian's prometheus package)" >&2
  local log="${TMPDIR:-/tmp}/swnode-promtool-install.log"
  {
    $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq \
      && DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install \
        -y -qq --no-install-recommends prometheus
  } >"$log" 2>&1 || { tail -n 20 "$log" >&2; echo "promtool install failed: the alert rule tests skip" >&2; }
  return 0
}
