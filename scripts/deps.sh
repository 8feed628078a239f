#!/usr/bin/env bash
# Install what building and testing libresumate needs on Debian, skipping whatever is already there
# (so a rerun takes well under a second). Runs as root, or through sudo when it is available.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libsqlite3-dev libjansson-dev libssl-dev libjwt-dev
          libcurl4-openssl-dev libmicrohttpd-dev libpq-dev postgresql redis-server libcriterion-dev
          swig abigail-tools doxygen wrk nginx python3-pip)
# The Go binding's tests need a Go toolchain: Debian's golang-go, unless one is already there (on PATH,
# or at /usr/local/go/bin/go where the official tarball puts it; scripts/test-bindings.sh finds both).
if [ -f bindings/go/go.mod ] && ! command -v go >/dev/null && [ ! -x /usr/local/go/bin/go ]; then
    packages+=(golang-go)
fi
# The interop tests compare with the real simplejwt 5.3.x (which writes user_id as an integer, like
# the Django ResuMate server).
python_modules=(pytest:pytest PyJWT:jwt requests:requests Django:django djangorestframework:rest_framework
                djangorestframework-simplejwt==5.3.1:rest_framework_simplejwt)   # pip name:import name

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else echo "deps.sh: need root (or sudo) to run: $*" >&2; return 1; fi
}

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps.sh: installing ${missing[*]}"
    as_root apt-get update -q
    # Packages such as postgresql and nginx start their service on install where an init system runs;
    # the tests start their own instances and do not rely on those.
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

pip_missing=()
for m in "${python_modules[@]}"; do
    python3 -c "import ${m#*:}" 2>/dev/null || pip_missing+=("${m%%:*}")
done
if [ ${#pip_missing[@]} -gt 0 ]; then
    echo "deps.sh: pip installing ${pip_missing[*]}"
    # Debian's Python is "externally managed" (PEP 668); these are test tools, not system components.
    PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
        python3 -m pip install -q "${pip_missing[@]}"
fi
echo "deps.sh: all dependencies present"
