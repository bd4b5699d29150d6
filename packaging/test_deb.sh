#!/usr/bin/env bash
# Packaging test (Debian/Ubuntu, as root or with sudo): build the .deb, install it with
# dpkg -i, check what it installed, run the installed `twoway --smoke-test` headless inside
# a private D-Bus session with GNOME Keyring and once more on an Xvfb display, read its
# report, then remove the package.
#
#   bash packaging/test_deb.sh            # uses .venv/bin/python (made by scripts/dev.sh)
#   PYTHON=/path/to/python bash packaging/test_deb.sh
#   TWOWAY_SKIP_BUILD=1 bash packaging/test_deb.sh   # test the .deb already in packaging/out
#
# Needs PyInstaller (installed into that Python when missing), dpkg-deb and readelf; apt
# installs the package's own Depends and, for the checks, gnome-keyring and xvfb.  Nothing
# here touches the real home folder or keyring: HOME, XDG_* and D-Bus are all temporary.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_DEB_BYTES=$((70 * 1000 * 1000))
PYTHON="${PYTHON:-.venv/bin/python}"
OUT="packaging/out"

fail() { echo "packaging test: FAILED: $*" >&2; exit 1; }
step() { echo; echo "== $*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || fail "run as root (dpkg -i needs it) or install sudo"
    SUDO="sudo"
fi
APT_UPDATED=""
apt_install() {
    [ -n "$APT_UPDATED" ] || { $SUDO apt-get update -qq; APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" \
        >/dev/null
}
need_command() {  # need_command COMMAND PACKAGE [OLDER-RELEASES'-PACKAGE]
    command -v "$1" >/dev/null 2>&1 && return 0
    apt_install "$2" || { [ $# -ge 3 ] && apt_install "$3"; } \
        || fail "cannot install $1 (apt-get install $2)"
}

TMP="$(mktemp -d)"
INSTALLED=""
XVFB_PID=""
cleanup() {
    [ -z "$XVFB_PID" ] || kill "$XVFB_PID" 2>/dev/null || true
    if [ -n "$INSTALLED" ]; then
        echo; echo "== removing the package"
        $SUDO dpkg -r twoway >/dev/null || echo "packaging test: dpkg -r twoway failed" >&2
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

need_command dpkg-deb dpkg
need_command readelf binutils
need_command dbus-run-session dbus-daemon dbus  # dbus-daemon since Debian 12, dbus before
if [ -z "${TWOWAY_SKIP_BUILD:-}" ]; then
    [ -x "$PYTHON" ] || fail "$PYTHON not found: run 'bash scripts/dev.sh test' first or set PYTHON"
    if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
        step "installing PyInstaller into $PYTHON"
        "$PYTHON" -m pip install --quiet --disable-pip-version-check "pyinstaller>=6.10"
    fi
    step "building the .deb"
    rm -f "$OUT"/twoway_*.deb
    started=$(date +%s)
    "$PYTHON" packaging/build.py
    BUILD_SECONDS=$(( $(date +%s) - started ))
else
    BUILD_SECONDS="(skipped)"
fi
DEB="$(ls -t "$OUT"/twoway_*.deb 2>/dev/null | head -1 || true)"
[ -n "$DEB" ] || fail "no packaging/out/twoway_*.deb was built"
DEB_BYTES=$(stat -c %s "$DEB")

step "inspecting $DEB"
dpkg-deb --info "$DEB" | sed -n '/Package:/,/Description:/p'
contents="$TMP/contents.txt"
dpkg-deb --contents "$DEB" > "$contents"
for path in ./opt/twoway/twoway ./usr/bin/twoway ./usr/share/applications/twoway.desktop \
    ./usr/share/icons/hicolor/48x48/apps/twoway.png ./usr/share/icons/hicolor/256x256/apps/twoway.png \
    ./usr/share/icons/hicolor/scalable/apps/twoway.svg ./usr/share/doc/twoway/copyright; do
    grep -q " $path\( \|$\)" "$contents" || fail "the package has no $path"
done
if grep -E "/(translations|qml|QtQuick|QtWebEngine)" "$contents" | grep -q PySide6; then
    fail "unused Qt parts (translations, QML, WebEngine) were packaged"
fi

step "installing with dpkg -i"
if dpkg-query -W -f='${Status}' twoway 2>/dev/null | grep -q "install ok installed"; then
    fail "twoway is already installed on this machine; remove it first (dpkg -r twoway)"
fi
INSTALLED=1
if ! $SUDO dpkg -i "$DEB" >"$TMP/dpkg.log" 2>&1; then
    # dpkg does not fetch dependencies: let apt add the missing Depends and finish.
    grep -E "depends on|not installed" "$TMP/dpkg.log" | sed 's/^/  /' || true
    echo "  (installing the missing Depends with apt-get -f install)"
    [ -n "$APT_UPDATED" ] || { $SUDO apt-get update -qq; APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -f -y -qq --no-install-recommends \
        >/dev/null
fi
dpkg-query -W -f='${Status}' twoway | grep -q "install ok installed" \
    || fail "twoway is not installed after dpkg -i"
[ "$(readlink -f "$(command -v twoway)")" = /opt/twoway/twoway ] \
    || fail "'twoway' on PATH is not /opt/twoway/twoway"
if command -v desktop-file-validate >/dev/null 2>&1; then
    desktop-file-validate /usr/share/applications/twoway.desktop
fi

step "checking that every bundled library finds what it needs (ldd)"
missing="$TMP/missing.txt"
: > "$missing"
while IFS= read -r -d '' file; do
    head -c 4 "$file" | grep -q "ELF" || continue
    LD_LIBRARY_PATH=/opt/twoway/_internal ldd "$file" 2>/dev/null | grep "not found" \
        | sed "s|^|${file#/opt/twoway/}: |" >> "$missing" || true
done < <(find /opt/twoway -type f -print0)
if [ -s "$missing" ]; then
    cat "$missing" >&2
    fail "libraries above are missing on an installed system: add them to the .deb's Depends"
fi
echo "all libraries resolve"

step "twoway --version"
version_line="$(twoway --version)" || fail "twoway --version failed"
echo "$version_line"
expected_version="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' desktop/__init__.py)"
[ "$version_line" = "Twoway $expected_version" ] || fail "expected 'Twoway $expected_version'"

step "twoway --smoke-test (offscreen, private D-Bus session with GNOME Keyring)"
LIVE_KEYRING=""
if [ -z "${TWOWAY_SKIP_KEYRING:-}" ]; then
    need_command gnome-keyring-daemon gnome-keyring
    LIVE_KEYRING=1
fi
mkdir -p "$TMP/home" "$TMP/runtime" "$TMP/data"
chmod 700 "$TMP/runtime"
cat > "$TMP/session.sh" <<'EOF'
set -eu
if [ -n "${LIVE_KEYRING:-}" ]; then
    # A fresh login keyring, unlocked with a throwaway password, on this session bus only.
    eval "$(printf 'packaging-test' | gnome-keyring-daemon --unlock --components=secrets)"
    export GNOME_KEYRING_CONTROL
fi
status=0
twoway --smoke-test --data-dir "$TWOWAY_TEST_DATA" || status=$?
twoway export --data-dir "$TWOWAY_TEST_DATA" --format json > "$TWOWAY_TEST_EXPORT" || status=$?
exit "$status"
EOF
report="$TMP/report.txt"
smoke_status=0
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME="$TMP/home" XDG_RUNTIME_DIR="$TMP/runtime" XDG_DATA_HOME="$TMP/home/.local/share" \
    XDG_CONFIG_HOME="$TMP/home/.config" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen \
    LIVE_KEYRING="$LIVE_KEYRING" TWOWAY_TEST_DATA="$TMP/data" \
    TWOWAY_TEST_EXPORT="$TMP/export.json" \
    timeout 120 dbus-run-session -- sh "$TMP/session.sh" > "$report" 2>"$TMP/stderr.txt" \
    || smoke_status=$?
cat "$report"
if [ "$smoke_status" -ne 0 ]; then
    sed 's/^/stderr: /' "$TMP/stderr.txt" >&2
    fail "the installed twoway --smoke-test or export exited with $smoke_status"
fi

step "twoway --smoke-test on an X11 display (Xvfb: the xcb plugin and the desktop's libraries)"
need_command Xvfb xvfb
Xvfb -displayfd 4 -screen 0 1280x800x24 -nolisten tcp 4>"$TMP/display" >/dev/null 2>&1 &
XVFB_PID=$!
for _ in $(seq 100); do [ -s "$TMP/display" ] && break; sleep 0.1; done
[ -s "$TMP/display" ] || fail "Xvfb did not start"
x11_status=0
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME="$TMP/home" \
    XDG_RUNTIME_DIR="$TMP/runtime" LANG=C.UTF-8 DISPLAY=":$(head -1 "$TMP/display")" \
    timeout 120 twoway --smoke-test --data-dir "$TMP/data-x11" > "$TMP/x11.txt" 2>&1 \
    || x11_status=$?
kill "$XVFB_PID" 2>/dev/null || true
XVFB_PID=""
grep -E "^(Twoway|qt:)" "$TMP/x11.txt" || true
[ "$x11_status" -eq 0 ] || { cat "$TMP/x11.txt" >&2; fail "the smoke test on X11 exited with $x11_status"; }
grep -Eq "^qt: [0-9.]+ platform=xcb$" "$TMP/x11.txt" || fail "Qt did not use the xcb platform on X11"

step "reading the smoke-test report"
problems=()
expect() {  # expect DESCRIPTION EXTENDED-REGEX
    grep -Eq -- "$2" "$report" || problems+=("$1 (no line matching: $2)")
}
grep -q "main window built" "$report" || fail "the smoke test did not build the main window"
grep -q "^frozen:" "$report" || fail "the smoke test printed no platform report: \
desktop/ui/application.py must print desktop.platform_support.smoke_report() in --smoke-test"
expect "it runs from the installed bundle" "^frozen: yes \(/opt/twoway/_internal\)"
expect "Qt uses the offscreen platform" "^qt: [0-9.]+ platform=offscreen$"
for plugin in platforms/qxcb platforms/qwayland platforms/qoffscreen \
    platformthemes/qxdgdesktopportal iconengines/qsvgicon xcbglintegrations/qxcb-egl-integration \
    platforminputcontexts/composeplatforminputcontextplugin; do
    expect "the Qt plugin $plugin was packaged" \
        "^qt plugins: (.* )?${plugin%%/*}=([^[:space:]]*,)?${plugin#*/}(,|[[:space:]]|$)"
done
for format in gif ico jpeg png svg webp; do
    expect "Qt reads $format images" "^image formats: (.* )?$format( |$)"
done
expect "the app icon renders (SVG icon engine)" "^app icon: ok$"
expect "keyring's backends were packaged" "^keyring backends: .*SecretService="
if [ -n "$LIVE_KEYRING" ]; then
    expect "the keyring found GNOME Keyring over Secret Service" \
        "^keyring: keyring\.backends\.SecretService\.Keyring$"
fi
expect "requests finds its CA bundle" "^ca bundle: ok"
expect "SQLite has FTS5" "^sqlite: [0-9.]+ fts5=yes$"
expect "phone numbers have country names" "^phone numbers: ok$"
expect "every Twoway module imports" "^modules: [0-9]+ imported, 0 failed$"
expect "twilio's REST client is complete" "^twilio rest: ok$"
grep -q '"conversations"' "$TMP/export.json" || problems+=("twoway export wrote no JSON")
if [ ${#problems[@]} -gt 0 ]; then
    printf '  - %s\n' "${problems[@]}" >&2
    fail "${#problems[@]} check(s) of the smoke-test report failed"
fi
echo "all checks passed"

step "summary"
printf 'package:        %s\n' "$DEB"
awk -v b="$DEB_BYTES" -v m="$MAX_DEB_BYTES" \
    'BEGIN { printf "size:           %d bytes (%.1f MB; limit %d MB)\n", b, b / 1e6, m / 1e6 }'
printf 'installed size: %s KiB\n' "$(dpkg-query -W -f='${Installed-Size}' twoway)"
printf 'build time:     %s s\n' "$BUILD_SECONDS"
[ "$DEB_BYTES" -le "$MAX_DEB_BYTES" ] || fail "the .deb is larger than 70 MB"
echo "packaging test: passed"
