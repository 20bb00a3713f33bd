#!/usr/bin/env bash
# The image's build steps, as a script that the Containerfile's build stage and CI
# (deploy/check.sh) both run, so that what CI checks is what the image carries.
#
# Builds the `ansinh` binary and the national rule plug-in (a WebAssembly
# component, built by `ansinh plugin build` as an author would), stages them into
# $OUT laid out like the image's root, then checks what was staged.
#
#   PROFILE=release (default): the image's build, optimised.
#   PROFILE=dev: CI's. It builds what `cargo test --workspace` builds, the same
#     units with the same features, so that the test step after it compiles
#     nothing again (a `cargo build -p ansinh` alone would unify other features
#     and build the heavy crates twice).
#   OUT (default: ${CARGO_TARGET_DIR:-target}/deploy/root-$PROFILE): the staged root.
#
# Needs only the Rust toolchain and its wasm32-unknown-unknown target (added
# here with rustup when rustup is there).
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${PROFILE:-release}"
target="${CARGO_TARGET_DIR:-target}"
OUT="${OUT:-$target/deploy/root-$PROFILE}"

case "$PROFILE" in
    release) profile_dir=release ;;
    dev) profile_dir=debug ;;
    *) echo "deploy/build.sh: PROFILE=$PROFILE: expected release or dev" >&2; exit 2 ;;
esac

if command -v rustup >/dev/null 2>&1; then
    rustup target add wasm32-unknown-unknown
fi

echo "deploy/build.sh: building ansinh ($PROFILE)"
# --locked: the image is built from the committed Cargo.lock, never a fresh resolution.
if [ "$PROFILE" = release ]; then
    cargo build --locked --release -p ansinh --bin ansinh
else
    cargo test --locked --workspace --no-run
fi
bin="$target/$profile_dir/ansinh"
test -x "$bin" || { echo "deploy/build.sh: $bin was not built" >&2; exit 1; }

echo "deploy/build.sh: building the national rule plug-in"
# `plugin build` prints the component's path on its last line; it builds with
# its own fixed flags (release, LTO, paths remapped), whatever PROFILE is, so the
# plug-in's bytes (and so its sha256 in releases) are the same in CI and the image.
wasm="$("$bin" plugin build plugins/national-social-assistance | tail -n 1)"
test -f "$wasm" || { echo "deploy/build.sh: plugin build named $wasm, which is not a file" >&2; exit 1; }

echo "deploy/build.sh: staging into $OUT"
rm -rf "$OUT"
install -D -m 0755 "$bin" "$OUT/usr/local/bin/ansinh"
install -D -m 0644 "$wasm" "$OUT/usr/share/ansinh/plugins/national-social-assistance.wasm"
# The release is uploaded with its cases (`plugin upload FILE --cases FILE`): ship them beside it.
install -D -m 0644 plugins/national-social-assistance/cases.yaml \
    "$OUT/usr/share/ansinh/plugins/national-social-assistance.cases.yaml"

echo "deploy/build.sh: checking what was staged"
staged="$OUT/usr/local/bin/ansinh"
version="$("$staged" --version)"
echo "  $version"
help="$("$staged" --help)"
# The subcommands the image's CMD, the compose file and the Kubernetes
# manifests run: a binary without one of them would not start there.
for command in serve worker migrate accounts plugin; do
    if ! grep -Eq "^  $command( |$)" <<<"$help"; then
        echo "deploy/build.sh: \`ansinh --help\` lists no \`$command\` subcommand, which deploy/ runs" >&2
        exit 1
    fi
done
echo "  ansinh --help lists serve, worker, migrate, accounts, plugin"
component="$OUT/usr/share/ansinh/plugins/national-social-assistance.wasm"
# A component starts with \0asm then version 0x0d and layer 1; a core module has 01 00 00 00.
magic="$(head -c 8 "$component" | od -An -tx1 | tr -d ' \n')"
if [ "$magic" != 0061736d0d000100 ]; then
    echo "deploy/build.sh: $component starts with $magic, not a WebAssembly component's 0061736d0d000100" >&2
    exit 1
fi
echo "  $(basename "$component"): a WebAssembly component, $(wc -c <"$component") bytes, sha256 $(sha256sum "$component" | cut -d' ' -f1)"
(cd "$OUT" && find . -type f | sort | sed 's/^\./  staged: /')
