#!/usr/bin/env bash
# Twoway developer entry point: sets up a virtual environment (idempotently), then
#   scripts/dev.sh demo [args…]   run the app in demo mode (built-in Twilio simulator)
#   scripts/dev.sh app  [args…]   run the app (python main.py [args…])
#   scripts/dev.sh test [pytest args…]   lint, type-check and run every test headless
set -euo pipefail

cd "$(dirname "$0")/.."
VENV="${TWOWAY_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"

# Debian/Ubuntu packages Qt needs: offscreen (tests) and a real desktop session (xcb).
QT_BASE_PACKAGES="libegl1 libgl1 libfontconfig1 libxkbcommon0 libdbus-1-3 libglib2.0-0"
QT_DESKTOP_PACKAGES="libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 \
libxcb-render-util0 libxkbcommon-x11-0 libxcb-shape0 libxcb-randr0 libxcb-xinerama0"

ensure_system_packages() {
    command -v dpkg-query >/dev/null 2>&1 || return 0  # not Debian/Ubuntu: nothing to check
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
            echo "Qt needs these system packages: ${missing[*]}" >&2
            echo "Install them with: apt-get install ${missing[*]}" >&2
            return 1
        fi
    fi
    echo "Installing system libraries Qt needs: ${missing[*]}" >&2
    $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        $sudo apt-get update -qq >/dev/null && \
        $sudo apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
    }
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PYTHON" -m venv "$VENV"; then
            echo "Could not create a virtual environment. On Debian/Ubuntu run:" >&2
            echo "    sudo apt install python3-venv" >&2
            exit 1
        fi
    fi
    local stamp="$VENV/.twoway-installed"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[test]"
        touch "$stamp"
    fi
}

command="${1:-demo}"
shift || true
case "$command" in
    demo)
        ensure_system_packages $QT_BASE_PACKAGES $QT_DESKTOP_PACKAGES || true
        ensure_venv
        exec "$VENV/bin/python" main.py --demo "$@"
        ;;
    app)
        ensure_system_packages $QT_BASE_PACKAGES $QT_DESKTOP_PACKAGES || true
        ensure_venv
        exec "$VENV/bin/python" main.py "$@"
        ;;
    test)
        ensure_system_packages $QT_BASE_PACKAGES
        ensure_venv
        export QT_QPA_PLATFORM=offscreen
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        "$VENV/bin/mypy"
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: scripts/dev.sh demo|app|test [args…]" >&2
        exit 2
        ;;
esac
