#!/usr/bin/env bash
# What CI runs for deploy/ (.ci/run), offline once its pinned checkers are
# installed, and strict: any problem ends it non-zero.
#   1. deploy/build.sh with PROFILE=dev: the image's build steps, and a check
#      of the binary and the plug-in they stage;
#   2. the Containerfile: it runs deploy/build.sh, copies what build.sh stages,
#      copies enough of the workspace for cargo to load it; hadolint;
#   3. each Kubernetes overlay rendered by `kubectl kustomize` and validated
#      against the Kubernetes schemas, unknown fields refused;
#   4. the compose file, parsed and validated by the Docker Compose CLI.
# No container engine is needed (none runs on the development machines).
set -euo pipefail
cd "$(dirname "$0")/.."

# The Kubernetes release whose schemas the manifests must meet.
K8S_VERSION=1.34.0
target="${CARGO_TARGET_DIR:-target}"

fail() { echo "deploy/check.sh: FAILED: $*" >&2; exit 1; }

echo "-- checkers (deploy/requirements.txt, pinned) into $target/deploy-tools"
tools="$target/deploy-tools"
if ! cmp -s deploy/requirements.txt "$tools/.ansinh-requirements"; then
    staging="$target/deploy-tools.tmp"
    rm -rf "$staging"
    python3 -m venv "$staging"
    "$staging/bin/pip" install --quiet --disable-pip-version-check --no-input --only-binary=:all: \
        -r deploy/requirements.txt
    cp deploy/requirements.txt "$staging/.ansinh-requirements"
    rm -rf "$tools"
    mv "$staging" "$tools"
fi
# The venv is moved after it is made: run its tools through its python, not their shebangs.
py="$tools/bin/python"
compose_cli="$tools/bin/docker-compose"
hadolint="$tools/bin/hadolint"
"$py" -m kubernetes_validate --version
"$compose_cli" version
"$hadolint" --version

echo "-- 1. deploy/build.sh (PROFILE=dev)"
PROFILE=dev OUT="$target/deploy/root-dev" bash deploy/build.sh
staged="$target/deploy/root-dev"

echo "-- 2. deploy/Containerfile"
containerfile=deploy/Containerfile
grep -Eq '^RUN .*(bash|sh) deploy/build\.sh|^ +PROFILE=release OUT=/out bash deploy/build\.sh' "$containerfile" ||
    fail "$containerfile does not run deploy/build.sh"
grep -q 'PROFILE=release' "$containerfile" || fail "$containerfile does not build with PROFILE=release"
# What the runtime stage copies from /out must be what build.sh staged.
for path in $(sed -n 's|^COPY --from=build /out\(/[^ ]*\) .*|\1|p' "$containerfile"); do
    [ -e "$staged$path" ] || fail "$containerfile copies /out$path, which deploy/build.sh does not stage"
    echo "  COPY --from=build /out$path: staged by build.sh"
done
grep -q '^USER 10001' "$containerfile" || fail "$containerfile does not run as the user 10001 the manifests name"
grep -q '^ENTRYPOINT \["ansinh"\]' "$containerfile" || fail "$containerfile's ENTRYPOINT is not [\"ansinh\"]"
# The build stage copies parts of the workspace: they must be enough for cargo to load it.
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
sed -n '/^FROM .* AS build/,/^FROM /p' "$containerfile" | sed -n 's/^COPY \([^-].*\)/\1/p' |
    while read -r -a words; do
        dest="${words[-1]}"
        for source in "${words[@]:0:${#words[@]}-1}"; do
            case "$dest" in
                */) mkdir -p "$context/$dest"; cp -r "$source" "$context/$dest" ;;
                *) mkdir -p "$context/$(dirname "$dest")"; cp -r "$source" "$context/$dest" ;;
            esac
        done
    done
rm -rf "$context"/*/target "$context"/plugins/*/target
(cd "$context" && cargo metadata --no-deps --locked --offline --format-version 1 >/dev/null) ||
    fail "the files $containerfile's build stage copies do not make a workspace cargo loads"
echo "  its build stage copies a workspace that cargo loads (cargo metadata --no-deps --locked --offline)"
"$hadolint" --failure-threshold warning "$containerfile"
echo "  hadolint: no warning"

echo "-- 3. Kubernetes: kustomize overlays, validated strictly against Kubernetes $K8S_VERSION"
for overlay in deploy/k8s/overlays/*/; do
    overlay="${overlay%/}"
    rendered="$target/deploy/$(basename "$overlay").yaml"
    mkdir -p "$(dirname "$rendered")"
    kubectl kustomize "$overlay" >"$rendered"
    "$py" -m kubernetes_validate --strict --kubernetes-version "$K8S_VERSION" "$rendered" ||
        fail "$overlay does not meet the Kubernetes $K8S_VERSION schemas"
    # kubernetes-validate passes a kind it has no schema for with a warning: refuse that too.
    count="$(grep -c '^kind: ' "$rendered")"
    echo "  $overlay: $count resources, each valid"
done

echo "-- 4. deploy/compose.yaml, parsed and validated by Docker Compose $("$compose_cli" version --short)"
# The secret files are made on each machine and never committed: stand-ins let
# the file be resolved here, in a copy so that nothing is left in deploy/.
compose_copy="$(mktemp -d)"
trap 'rm -rf "$context" "$compose_copy"' EXIT
cp -r deploy/compose.yaml deploy/compose deploy/keycloak "$compose_copy/"
mkdir -p "$compose_copy/compose/secrets"
touch "$compose_copy/compose/secrets/db_password.txt" "$compose_copy/compose/secrets/person_key.txt"
services="$("$compose_cli" -f "$compose_copy/compose.yaml" config --services)" ||
    fail "deploy/compose.yaml is not a valid compose file"
"$compose_cli" -f "$compose_copy/compose.yaml" config --quiet
for service in secrets db migrate serve worker keycloak; do
    grep -qx "$service" <<<"$services" || fail "deploy/compose.yaml has no service $service"
done
echo "  valid; services: $(tr '\n' ' ' <<<"$services")"
python3 deploy/realm_check.py ||
    fail "deploy/keycloak/ansinh-realm.json does not match [oidc] of deploy/compose/ansinh.toml"
echo "  deploy/keycloak/ansinh-realm.json: the public PKCE client, redirect and audience of compose's [oidc]"

echo "deploy/check.sh: all passed"
