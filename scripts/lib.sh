# Shared by scripts/run and scripts/test: find or install every tool the build needs, then build the client.
# Each step checks the version first and installs only when it differs, so a second run does nothing.
# Works on a fresh Debian machine with rustup's Rust, Node/npm and apt; elsewhere it prints the missing step.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$ROOT/tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TRUNK_VERSION="0.21.14"
BINARYEN_VERSION="132"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# Installs Debian packages when we are root; otherwise says exactly what to run.
apt_install() {
  if is_root && command -v apt-get >/dev/null; then
    if [ ! -f /tmp/.tc-apt-updated ]; then apt-get update -qq && touch /tmp/.tc-apt-updated; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    fail "missing: $*. Install with: sudo apt-get update && sudo apt-get install -y $*"
  fi
}

need_rust_and_node() {
  command -v cargo >/dev/null || fail "Rust is missing. Install it with rustup: https://rustup.rs"
  command -v npm >/dev/null || fail "Node.js and npm are missing. Install them with: sudo apt-get install -y nodejs npm"
}

# The version of a crate as Cargo.lock pins it.
locked_version() {
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}

ensure_wasm_target() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "Adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
}

ensure_trunk() {
  # Trunk 0.22 needs a newer rustc than this toolchain: pin 0.21.14.
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    step "Installing trunk $TRUNK_VERSION (about 8 minutes on 2 cores)"
    cargo install --locked "trunk@$TRUNK_VERSION"
  fi
}

ensure_wasm_bindgen() {
  local want
  want="$(locked_version wasm-bindgen)"
  [ -n "$want" ] || fail "Cargo.lock has no wasm-bindgen entry"
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $want" ]; then
    step "Installing wasm-bindgen-cli $want (the version in Cargo.lock)"
    # Without --locked: the CLI's own lockfile wants a crate version the registry mirror lacks.
    cargo install wasm-bindgen-cli --version "$want"
  fi
}

ensure_wasm_opt() {
  # npm's binaryen, not Debian's: Debian's wasm-opt 108 builds a wasm that crashes at load.
  if ! "$ROOT/tools/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version_$BINARYEN_VERSION"; then
    step "Installing wasm-opt (npm binaryen $BINARYEN_VERSION)"
    npm ci --prefix "$ROOT/tools" --no-audit --no-fund
  fi
}

ensure_client_tools() {
  need_rust_and_node
  ensure_wasm_target
  ensure_trunk
  ensure_wasm_bindgen
  ensure_wasm_opt
}

# Builds dist/ in release with the size profile and wasm-opt, unless nothing it is made from changed.
build_client() {
  local stamp="$ROOT/dist/.built-from"
  if [ -f "$stamp" ] && [ -z "$(cd "$ROOT" && find app shared style Cargo.toml Cargo.lock Trunk.toml -newer "$stamp" -print -quit)" ]; then
    echo "client: dist/ is up to date"
    return
  fi
  step "Building the client (trunk build --release): the credentials bundle, then the admin bundle"
  # Trunk replaces dist/ as a whole, so the admin bundle (app/admin.html → dist/admin/, served under /admin/)
  # is built second, every time.
  (cd "$ROOT" && cargo fetch --locked && trunk build --release \
    && trunk build app/admin.html --release --dist dist/admin --public-url /admin/)
  node "$ROOT/scripts/compress.mjs" "$ROOT/dist"
  echo "admin bundle (loaded only by the admin pages and the set-password page):"
  node "$ROOT/scripts/compress.mjs" "$ROOT/dist/admin"
  touch "$stamp"
}
