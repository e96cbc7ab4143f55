# shellcheck shell=bash
# Pinned versions of the code-generation and client-test tools, and functions
# that install exactly those versions when they are missing. Sourced by the
# scripts in scripts/; every pin lives here so regeneration is deterministic.

BUF_VERSION=1.75.0                      # npm @bufbuild/buf, installed into .tools/
PROTOC_GEN_GO_VERSION=v1.36.12          # google.golang.org/protobuf/cmd/protoc-gen-go
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2       # google.golang.org/grpc/cmd/protoc-gen-go-grpc
GRPCURL_VERSION=v1.9.4                  # github.com/fullstorydev/grpcurl/cmd/grpcurl
# The last grpcurl release that speaks only server reflection v1alpha (1.8.8
# on try v1 first), so the tests prove the daemon's v1alpha service works.
GRPCURL_V1ALPHA_VERSION=v1.8.7
GRPCIO_TOOLS_VERSION=1.85.1             # PyPI grpcio-tools (bundles protoc and the gRPC plugin)
# npm @bufbuild/protoc-gen-es, a devDependency of clients/typescript (exact
# version in its package.json and package-lock.json, which must agree). 2.13
# is the last release that supports Node 20 (2.14 needs Node 22).
PROTOC_GEN_ES_VERSION=2.13.0
SCHEMATHESIS_VERSION=4.32.5             # PyPI schemathesis: fuzzes the HTTP routes (scripts/test-openapi.sh)
OPENAPI_SPEC_VALIDATOR_VERSION=0.9.0    # PyPI openapi-spec-validator: checks clients/openapi's document
CARGO_FUZZ_VERSION=0.13.2               # crates.io cargo-fuzz: builds the fuzz targets (scripts/fuzz.sh)
VIRTME_NG_VERSION=1.42                  # PyPI virtme-ng: boots a kernel on this machine's files (scripts/test-cgroup-v2.sh)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
GOBIN_DIR="$(go env GOBIN)"
[ -n "$GOBIN_DIR" ] || GOBIN_DIR="$(go env GOPATH)/bin"
BUF="$REPO_ROOT/.tools/node_modules/.bin/buf"
TS_CLIENT_DIR="$REPO_ROOT/clients/typescript"
PROTOC_GEN_ES="$TS_CLIENT_DIR/node_modules/.bin/protoc-gen-es"
# Kept apart from $GOBIN_DIR so it never shadows the current grpcurl.
export GRPCURL_V1ALPHA="$REPO_ROOT/.tools/grpcurl-$GRPCURL_V1ALPHA_VERSION/grpcurl"
export PATH="$GOBIN_DIR:$PATH"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Installs buf $BUF_VERSION into .tools/ (gitignored) unless it is there.
ensure_buf() {
  if [ -x "$BUF" ] && [ "$("$BUF" --version 2>/dev/null)" = "$BUF_VERSION" ]; then
    return
  fi
  log "installing buf $BUF_VERSION into .tools/"
  npm install --prefix "$REPO_ROOT/.tools" --no-save --no-package-lock --no-audit --no-fund \
    "@bufbuild/buf@$BUF_VERSION" >&2
  [ "$("$BUF" --version)" = "$BUF_VERSION" ] || die "buf $BUF_VERSION did not install"
}

# ensure_go_tool NAME PACKAGE VERSION [DIR]: installs PACKAGE@VERSION into DIR
# (default $GOBIN_DIR) unless the binary there was built from exactly that
# module version.
ensure_go_tool() {
  local name="$1" pkg="$2" version="$3" dir="${4:-$GOBIN_DIR}"
  local bin="$dir/$name"
  if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | awk '$1 == "mod" {print $3}' | grep -qx "$version"; then
    return
  fi
  log "installing $name $version into $dir"
  GOBIN="$dir" GOFLAGS=-buildvcs=false go install "$pkg@$version" >&2
}

ensure_codegen_go_tools() {
  ensure_go_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
  ensure_go_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"
}

ensure_grpcurl() {
  ensure_go_tool grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION"
  ensure_go_tool grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_V1ALPHA_VERSION" \
    "$(dirname "$GRPCURL_V1ALPHA")"
}

# Installs grpcio-tools $GRPCIO_TOOLS_VERSION into $PYTHON unless present.
ensure_grpcio_tools() {
  local have
  have="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("grpcio-tools"))' 2>/dev/null || true)"
  if [ "$have" = "$GRPCIO_TOOLS_VERSION" ]; then
    return
  fi
  log "installing grpcio-tools $GRPCIO_TOOLS_VERSION"
  "$PYTHON" -m pip install --quiet "grpcio-tools==$GRPCIO_TOOLS_VERSION" >&2
}

# Installs clients/typescript's locked dependencies (npm ci), which include
# protoc-gen-es, unless protoc-gen-es $PROTOC_GEN_ES_VERSION is already there;
# fails when the lock file pins another version than $PROTOC_GEN_ES_VERSION.
ensure_protoc_gen_es() {
  if [ -x "$PROTOC_GEN_ES" ] && [ "$("$PROTOC_GEN_ES" --version 2>/dev/null)" = "protoc-gen-es v$PROTOC_GEN_ES_VERSION" ]; then
    return
  fi
  log "installing clients/typescript's dependencies (npm ci) for protoc-gen-es $PROTOC_GEN_ES_VERSION"
  (cd "$TS_CLIENT_DIR" && npm ci --no-audit --no-fund >&2)
  [ "$("$PROTOC_GEN_ES" --version)" = "protoc-gen-es v$PROTOC_GEN_ES_VERSION" ] ||
    die "clients/typescript/package-lock.json does not pin protoc-gen-es $PROTOC_GEN_ES_VERSION (scripts/lib/tools.sh)"
}

# Installs schemathesis $SCHEMATHESIS_VERSION and openapi-spec-validator
# $OPENAPI_SPEC_VALIDATOR_VERSION into $PYTHON unless both are present.
ensure_openapi_tools() {
  local have
  have="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("schemathesis"), m.version("openapi-spec-validator"))' 2>/dev/null || true)"
  if [ "$have" = "$SCHEMATHESIS_VERSION $OPENAPI_SPEC_VALIDATOR_VERSION" ]; then
    return
  fi
  log "installing schemathesis $SCHEMATHESIS_VERSION and openapi-spec-validator $OPENAPI_SPEC_VALIDATOR_VERSION"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION" >&2
}

WEB_DIR="$REPO_ROOT/web"

# Installs Debian's Chromium (the dashboard's browser tests drive it with
# playwright-core: Playwright's own browser download is not available on
# the build machines) unless /usr/bin/chromium is there.
ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then
    return
  fi
  log "installing chromium (apt-get)"
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >&2
}

# The dashboard's dependencies: clients/typescript built (web/ links it as a
# file dependency and bundles its dist/) and web/'s locked packages.
ensure_web_deps() {
  if [ ! -d "$TS_CLIENT_DIR/node_modules" ] || [ "$TS_CLIENT_DIR/package-lock.json" -nt "$TS_CLIENT_DIR/node_modules/.package-lock.json" ]; then
    log "npm ci (clients/typescript)"
    (cd "$TS_CLIENT_DIR" && npm ci --no-audit --no-fund >&2)
  fi
  log "building clients/typescript (the dashboard bundles it)"
  (cd "$TS_CLIENT_DIR" && npm run --silent build >&2)
  if [ ! -d "$WEB_DIR/node_modules" ] || [ "$WEB_DIR/package-lock.json" -nt "$WEB_DIR/node_modules/.package-lock.json" ]; then
    log "npm ci (web)"
    (cd "$WEB_DIR" && npm ci --no-audit --no-fund >&2)
  fi
}

# check_committed WHAT-TO-RUN PATH...: fails (returns 1) when PATH... differ
# from git's index or hold untracked files, so a CI checkout proves that
# what was committed is what the generator makes. Skipped (returns 0) with
# CHECK_GENERATED_GIT=0, for a work tree not committed yet on purpose, and
# before the first commit.
check_committed() {
  local regenerate="$1" status=0 untracked
  shift
  if [ "${CHECK_GENERATED_GIT:-1}" = 0 ]; then
    log "CHECK_GENERATED_GIT=0: skipping the git diff / untracked checks"
    return 0
  fi
  if ! git rev-parse --verify --quiet HEAD >/dev/null; then
    log "no commit yet: skipping the git diff / untracked checks"
    return 0
  fi
  if ! git diff --exit-code -- "$@"; then
    echo "error: $* differ from the index; run $regenerate and commit the result" >&2
    status=1
  fi
  untracked="$(git ls-files --others --exclude-standard -- "$@")"
  if [ -n "$untracked" ]; then
    printf 'error: generated files are not committed:\n%s\n' "$untracked" >&2
    status=1
  fi
  return "$status"
}
