#!/usr/bin/env bash
# Engine harness: a real Dagger engine for this module on a machine without Docker.
#
#   bash .ci/engine.sh up       ensure an engine answers; prints the path of an env file to source
#   bash .ci/engine.sh down     stop the host-run engine and the local registry (caches stay)
#   bash .ci/engine.sh status   one line: running or not, and where
#   bash .ci/engine.sh codegen  prints the path of dagger v0.19.10's codegen (built when missing),
#                               for the offline module check (.ci/module-check.sh)
#   bash .ci/engine.sh schema   prints the schema the engine gives module SDKs (with an engine's
#                               env sourced), to refresh .ci/module-schema.json
#
# If a dagger CLI on PATH already reaches an engine (a contributor with Docker), that one is
# used as is. Otherwise everything is built from the Go module proxy and Debian's mirrors and
# run on the host as root: the CLI and the engine (dagger v0.19.10), the Go SDK's base image,
# a local registry holding stand-ins for the module's tool images, and the engine itself in a
# private mount namespace. Each step caches its output under ENGINE_HOME (outside the
# checkout, keyed by version), is skipped when that output exists, and writes it atomically
# (X.tmp, then mv), so a second `up` takes seconds and an interrupted one leaves no half entry.
# Progress goes to stderr; stdout carries only the env file's path.
#
# Settings (environment): INFRAPIPE_CACHE (cache root, default ~/.cache/infrapipe),
# INFRAPIPE_REGISTRY_PORT (default 5555), INFRAPIPE_ENGINE_CIDR (default 10.88.0.0/16) and
# INFRAPIPE_ENGINE_NETWORK (default dagger; both matter only for a second engine on one host),
# INFRAPIPE_DEBIAN_MIRROR, INFRAPIPE_ENGINE_LOG_LEVEL (default info; debug logs each exec),
# INFRAPIPE_ENGINE_BUILD_TOOLS=1 (build missing tool binaries with
# .ci/tools.sh instead of skipping their images), INFRAPIPE_ENGINE_MIN_FREE_GB (default 20:
# with less free, `up` clears the engine's cache first; see make_room).
set -euo pipefail

DAGGER_VERSION=v0.19.10
GO_SDK_GO_VERSION=1.25.5 # the Go that the official v0.19.10 Go SDK image ships
CRANE_VERSION=v0.20.6
REGISTRY_VERSION=v3.0.0
REGISTRY_PORT=${INFRAPIPE_REGISTRY_PORT:-5555}
NETWORK_CIDR=${INFRAPIPE_ENGINE_CIDR:-10.88.0.0/16}
NETWORK_NAME=${INFRAPIPE_ENGINE_NETWORK:-dagger} # the bridge is <name>0
DEBIAN_MIRROR=${INFRAPIPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
AWS_TEST_PROVIDER_VERSION=5.99.0 # ci/internal/providertest.Version

# The module's default tool images (.dagger/main.go) that are built here, and those that are not.
TFLINT_IMAGE=ghcr.io/terraform-linters/tflint:v0.64.0
TRIVY_IMAGE=aquasec/trivy:0.74.0
OPA_IMAGE=openpolicyagent/opa:1.15.2
MOTO_IMAGE=motoserver/moto:5.1.22
UNOBTAINABLE=(
	"checkov image (bridgecrew/checkov:3.2.524): not obtainable here (PyPI and Docker Hub unreachable); the module's security scan runs without Checkov"
	"infracost image (infracost/infracost:ci-0.10): not obtainable here (not on the Go proxy, and it needs Infracost's pricing API); the module's cost step degrades"
	"terraform-compliance image (eerkunt/terraform-compliance:1.3.32): not obtainable here (PyPI unreachable); the module's compliance step degrades"
)

ENGINE_HOME=${INFRAPIPE_CACHE:-$HOME/.cache/infrapipe}/engine-$DAGGER_VERSION
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
BIN=$ENGINE_HOME/bin
TOOLS_DIR=${TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infrapipe-tools}
ENGINE_SOCK=$ENGINE_HOME/engine.sock
ENGINE_PID=$ENGINE_HOME/engine.pid
REGISTRY=127.0.0.1:$REGISTRY_PORT
REGISTRY_PID=$ENGINE_HOME/registry/registry.pid
BASE_IMAGE=$REGISTRY/infrapipe/base:bookworm
GO_SDK_IMAGE=$REGISTRY/infrapipe/go-sdk:$DAGGER_VERSION
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
MISSING_IMAGES=() # module default images this engine cannot serve; exported in the env file
ENGINE_LOG_LEVEL=${INFRAPIPE_ENGINE_LOG_LEVEL:-info}
MIN_FREE_GB=${INFRAPIPE_ENGINE_MIN_FREE_GB:-20}

# Go settings for everything built here: dagger's own modules are unknown to the checksum
# database, and the machine's Go (newer than any go line here) must not fetch toolchains.
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
export GONOSUMDB=github.com/dagger/dagger,dagger.io GONOSUMCHECK=1

log() { echo "engine: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# quietly CMD...: run CMD with its output in ENGINE_HOME/step.log, shown only when it fails.
quietly() {
	"$@" >"$ENGINE_HOME/step.log" 2>&1 && return 0
	tail -n 20 "$ENGINE_HOME/step.log" >&2
	log "failed: $*"
	return 1
}

# publish TMP FINAL: replace FINAL with the finished TMP in one rename.
publish() {
	rm -rf "$2"
	mv "$1" "$2"
}

# pid_of FILE NAME: the pid in FILE if that process is alive and runs NAME.
pid_of() {
	local pid
	[ -f "$1" ] || return 1
	pid=$(cat "$1")
	[ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
	[[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *"$2"* ]] || return 1
	echo "$pid"
}

# stop_pid FILE NAME: SIGTERM, up to 30 s, then SIGKILL.
stop_pid() {
	local pid i
	pid=$(pid_of "$1" "$2") || {
		rm -f "$1"
		return 0
	}
	kill "$pid" 2>/dev/null || true
	for i in $(seq 60); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$i" -lt 60 ] || kill -9 "$pid" 2>/dev/null || true
		sleep 0.5
	done
	rm -f "$1"
}

# ---------------------------------------------------------------------------------------
# An engine that is already there

# existing_engine: true when a dagger CLI on PATH, not ours, answers a query within 60 s.
existing_engine() {
	local cli
	cli=$(command -v dagger 2>/dev/null) || return 1
	[ "$cli" != "$BIN/dagger" ] || return 1
	log "found $cli; asking its engine for its version (up to 60 s)"
	EXISTING_VERSION=$(DAGGER_NO_NAG=1 DO_NOT_TRACK=1 timeout 60 dagger core version </dev/null 2>/dev/null) || return 1
}
EXISTING_VERSION=

# ---------------------------------------------------------------------------------------
# Host packages

# install_packages: runc and the CNI plugins run containers; dnsmasq serves the dnsname CNI
# plugin (service bindings by host name); iptables masquerades; debootstrap makes the rootfs.
install_packages() {
	local missing=() spec
	for spec in runc:runc iptables:iptables dnsmasq:dnsmasq-base debootstrap:debootstrap \
		unshare:util-linux update-ca-certificates:ca-certificates curl:curl; do
		command -v "${spec%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${spec%%:*}" ] || missing+=("${spec#*:}")
	done
	[ -x /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
	[ ${#missing[@]} -eq 0 ] && return
	log "apt-get install ${missing[*]}"
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

# ---------------------------------------------------------------------------------------
# Dagger: CLI, engine, init, codegen, dnsname

# dagger_source: a writable copy of github.com/dagger/dagger@v0.19.10 from the proxy, plus the
# two nested modules its go.mod replaces with local directories and the zip lacks:
# engine/distconsts (our own .ci/engine/distconsts.go) and sdk/go (= dagger.io/dagger).
dagger_source() {
	local src=$ENGINE_HOME/src/dagger mod sdk
	[ -f "$src/.complete" ] && return
	log "fetching dagger $DAGGER_VERSION and dagger.io/dagger $DAGGER_VERSION from the Go module proxy"
	mod=$(cd /tmp && go mod download -json "github.com/dagger/dagger@$DAGGER_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	sdk=$(cd /tmp && go mod download -json "dagger.io/dagger@$DAGGER_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
	if [ ! -d "$mod" ] || [ ! -d "$sdk" ]; then
		die "dagger $DAGGER_VERSION: not served by the Go module proxy"
	fi
	rm -rf "$src.tmp" && mkdir -p "$src.tmp"
	cp -r "$mod/." "$src.tmp/"
	mkdir -p "$src.tmp/sdk/go" "$src.tmp/engine/distconsts"
	cp -r "$sdk/." "$src.tmp/sdk/go/"
	chmod -R u+w "$src.tmp"
	printf 'module github.com/dagger/dagger/engine/distconsts\n\ngo 1.24\n' >"$src.tmp/engine/distconsts/go.mod"
	cp "$HERE/engine/distconsts.go" "$src.tmp/engine/distconsts/consts.go"
	touch "$src.tmp/.complete"
	publish "$src.tmp" "$src"
}

# build_dagger: one `go build` for the five programs so they share compiled packages (about
# 10-15 minutes cold on 2 busy cores). The version variables make the CLI, the engine and the
# module's engineVersion agree.
build_dagger() {
	local p missing=() out=$ENGINE_HOME/build.tmp
	for p in dagger dagger-engine dagger-init codegen dnsname; do
		[ -x "$BIN/$p" ] || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	dagger_source
	log "building dagger $DAGGER_VERSION: ${missing[*]} (10-15 minutes cold)"
	rm -rf "$out" && mkdir -p "$out" "$BIN"
	(cd "$ENGINE_HOME/src/dagger" && CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod" go build -trimpath -o "$out/" \
		-ldflags "-s -w -X github.com/dagger/dagger/engine.Version=$DAGGER_VERSION -X github.com/dagger/dagger/engine.Tag=$DAGGER_VERSION" \
		./cmd/dagger ./cmd/engine ./cmd/init ./cmd/codegen ./cmd/dnsname) >&2
	mv "$out/engine" "$out/dagger-engine"
	mv "$out/init" "$out/dagger-init"
	for p in dagger dagger-engine dagger-init codegen dnsname; do
		mv -f "$out/$p" "$BIN/$p"
	done
	rm -rf "$out"
}

# go_bin NAME PACKAGE VERSION: go install a helper program into BIN.
go_bin() {
	[ -x "$BIN/$1" ] && return
	log "installing $2@$3"
	rm -rf "$ENGINE_HOME/gobin.tmp"
	GOBIN=$ENGINE_HOME/gobin.tmp go install "$2@$3" >&2
	mkdir -p "$BIN"
	mv "$ENGINE_HOME/gobin.tmp/$1" "$BIN/$1"
	rm -rf "$ENGINE_HOME/gobin.tmp"
}

# install_helpers: crane assembles images from tarballs; the registry serves them.
install_helpers() {
	go_bin crane github.com/google/go-containerregistry/cmd/crane "$CRANE_VERSION"
	go_bin registry github.com/distribution/distribution/v3/cmd/registry "$REGISTRY_VERSION"
}

# ---------------------------------------------------------------------------------------
# Local registry: `From("hashicorp/terraform:1.11.4")` resolves through the mirrors that
# buildkitd.toml sets for docker.io and ghcr.io.

registry_up() { curl -fsS -o /dev/null --max-time 2 "http://$REGISTRY/v2/" 2>/dev/null; }

start_registry() {
	registry_up && return
	local dir=$ENGINE_HOME/registry i
	mkdir -p "$dir/data"
	cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
	log "starting the local registry on $REGISTRY (log: $dir/registry.log)"
	# setsid: the registry outlives this shell; 9>&-: it must not hold our lock.
	OTEL_TRACES_EXPORTER=none setsid nohup "$BIN/registry" serve "$dir/config.yml" \
		>>"$dir/registry.log" 2>&1 </dev/null 9>&- &
	echo $! >"$REGISTRY_PID"
	for i in $(seq 40); do
		registry_up && return
		[ "$i" -lt 40 ] && sleep 0.5
	done
	tail -n 20 "$dir/registry.log" >&2
	die "the registry did not answer on $REGISTRY"
}

# ---------------------------------------------------------------------------------------
# Images

crane() { "$BIN/crane" --insecure "$@"; }

# rootfs: one Debian bookworm minbase tree, as a tarball, under every image built here. It
# carries /bin/sh (the module runs `sh -c`), CA certificates and git (the Go SDK runs
# `git config` with the client's settings; terraform init fetches git module sources).
rootfs() {
	local tar=$ENGINE_HOME/rootfs/bookworm.tar dir=$ENGINE_HOME/rootfs/bookworm.tmp
	[ -f "$tar" ] && return
	log "debootstrap bookworm (minbase) from $DEBIAN_MIRROR (about 4 minutes)"
	rm -rf "$dir" "$tar.tmp" && mkdir -p "$dir"
	debootstrap --variant=minbase --include=ca-certificates,git bookworm "$dir" "$DEBIAN_MIRROR" \
		>"$ENGINE_HOME/rootfs/debootstrap.log" 2>&1 || die "debootstrap failed; see $ENGINE_HOME/rootfs/debootstrap.log"
	rm -rf "${dir:?}"/var/cache/apt/archives/*.deb "${dir:?}"/var/lib/apt/lists/* "${dir:?}"/dev/*
	tar -C "$dir" --numeric-owner -cf "$tar.tmp" .
	rm -rf "$dir"
	mv "$tar.tmp" "$tar"
}

# repo_of REF: where the engine looks REF up on the mirror (registry host dropped, Docker
# Hub's official images under library/).
repo_of() {
	local ref=$1 first=${1%%/*}
	case "$ref" in */*) case "$first" in *.* | *:*) ref=${ref#*/} ;; esac ;; esac
	case "$ref" in */*) ;; *) ref=library/$ref ;; esac
	echo "$ref"
}

marker_of() { echo "$ENGINE_HOME/images/$(echo "$1" | tr '/:' '__').key"; }

# image_current REF KEY: REF was pushed from inputs KEY (on the current base image) and is
# still in the registry.
image_current() {
	local marker
	marker=$(marker_of "$1")
	[ -f "$marker" ] && [ "$(cat "$marker")" = "$2 $BASE_KEY" ] && crane digest "$REGISTRY/$(repo_of "$1")" >/dev/null 2>&1
}

# base_image: the rootfs as an image; every other image appends one layer to it. This
# machine's CA bundle and its local CAs (an intercepting proxy's among them) are layered in
# on top, so containers trust what the host trusts without the engine's per-exec CA installer
# (see ns_start), also after an `update-ca-certificates` inside a container. Sets BASE_KEY.
BASE_KEY=
base_image() {
	local key tmp=$ENGINE_HOME/layers/base.tmp
	rootfs
	key="$(stat -c %s-%Y "$ENGINE_HOME/rootfs/bookworm.tar") $(cat /etc/ssl/certs/ca-certificates.crt /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum)"
	BASE_KEY=
	if ! image_current "$BASE_IMAGE" "$key"; then
		log "pushing the base image (bookworm rootfs)"
		rm -rf "$tmp" && mkdir -p "$tmp/etc/ssl/certs" "$tmp/usr/local/share/ca-certificates"
		cp /etc/ssl/certs/ca-certificates.crt "$tmp/etc/ssl/certs/"
		cp /usr/local/share/ca-certificates/*.crt "$tmp/usr/local/share/ca-certificates/" 2>/dev/null || true
		tar -C "$tmp" --numeric-owner --owner=0 --group=0 -cf "$tmp.tar" .
		quietly crane append --oci-empty-base -f "$ENGINE_HOME/rootfs/bookworm.tar" -f "$tmp.tar" -t "$BASE_IMAGE"
		quietly crane mutate "$BASE_IMAGE" --set-platform linux/amd64 -e "PATH=$IMAGE_PATH" -t "$BASE_IMAGE"
		rm -rf "$tmp" "$tmp.tar"
		mkdir -p "$ENGINE_HOME/images" && echo "$key " >"$(marker_of "$BASE_IMAGE")"
	fi
	BASE_KEY=$(crane digest "$BASE_IMAGE")
}

# push_image REF KEY DIR [crane mutate flags...]: REF = base image + DIR as one layer.
# The image builders run where `set -e` does not apply (`builder || missing_image`), hence
# the explicit `|| return 1` in them: a failed step must not leave a marker behind.
push_image() {
	local ref=$1 key=$2 dir=$3 target
	shift 3
	target=$REGISTRY/$(repo_of "$ref")
	tar -C "$dir" --numeric-owner --owner=0 --group=0 -cf "$dir.tar" . || return 1
	quietly crane append -b "$BASE_IMAGE" -f "$dir.tar" -t "$target" || return 1
	quietly crane mutate "$target" "$@" -t "$target" || return 1
	rm -rf "$dir" "$dir.tar"
	echo "$key $BASE_KEY" >"$(marker_of "$ref")"
	PUSHED=1
}

# collect_registry_garbage: a rebuilt image leaves its predecessor's blobs behind (hundreds
# of MB for moto); the registry must be stopped to collect them (about a second).
PUSHED=
collect_registry_garbage() {
	[ -n "$PUSHED" ] || return 0
	log "removing superseded images from the registry"
	stop_pid "$REGISTRY_PID" registry
	"$BIN/registry" garbage-collect --delete-untagged --quiet "$ENGINE_HOME/registry/config.yml" >/dev/null 2>&1 ||
		log "warning: registry garbage-collect failed (harmless: only disk is lost)"
	start_registry
}

# layer_dir NAME: an empty staging directory for an image's layer.
layer_dir() {
	local dir=$ENGINE_HOME/layers/$1.tmp
	rm -rf "$dir" "$dir.tar" && mkdir -p "$dir"
	echo "$dir"
}

# go_sdk_image: the base image the engine's Go SDK builds modules in, loaded from an OCI
# content store chosen by DAGGER_GO_SDK_MANIFEST_DIGEST (core/sdk/go_sdk.go): go and codegen
# on PATH, /go/pkg/mod and /root/.cache/go-build (seeds of its cache volumes), GOTOOLCHAIN=auto
# as in the official image. Writes ENGINE_HOME/content (an OCI layout) and content.digest.
go_sdk_image() {
	local goroot key dir digest store=$ENGINE_HOME/content
	goroot=$(GOTOOLCHAIN=go$GO_SDK_GO_VERSION go env GOROOT) || die "Go $GO_SDK_GO_VERSION: not obtainable from the Go module proxy"
	key="$(sha256sum <"$BIN/codegen") $goroot"
	[ -f "$store.key" ] && [ "$(cat "$store.key")" = "$key $BASE_KEY" ] && [ -s "$store.digest" ] && return
	log "building the Go SDK image (Go $GO_SDK_GO_VERSION + codegen)"
	dir=$(layer_dir go-sdk)
	mkdir -p "$dir/usr/local/bin" "$dir/go/pkg/mod" "$dir/go/bin" "$dir/root/.cache/go-build"
	cp -r "$goroot" "$dir/usr/local/go"
	chmod -R u+w "$dir/usr/local/go"
	cp "$BIN/codegen" "$dir/usr/local/bin/codegen"
	push_image "$GO_SDK_IMAGE" "$key" "$dir" \
		-e "PATH=/go/bin:/usr/local/go/bin:$IMAGE_PATH" -e GOPATH=/go -e GOTOOLCHAIN=auto \
		-e "GOLANG_VERSION=$GO_SDK_GO_VERSION"
	rm -rf "$store.tmp"
	quietly crane pull --format=oci "$GO_SDK_IMAGE" "$store.tmp"
	digest=$(crane digest "$GO_SDK_IMAGE")
	publish "$store.tmp" "$store"
	echo "$digest" >"$store.digest"
	echo "$key $BASE_KEY" >"$store.key"
}

# terraform_image: this machine's Terraform, with a CLI config that installs hashicorp/aws
# from a filesystem mirror holding the project's test provider (the registry is unreachable)
# and every other provider directly. Sets TERRAFORM_VERSION.
TERRAFORM_VERSION=
terraform_image() {
	local tf provider key dir ref
	tf=$(command -v terraform 2>/dev/null) || {
		TERRAFORM_VERSION=$(module_default_terraform)
		missing_image "hashicorp/terraform:$TERRAFORM_VERSION" "terraform image: not obtainable here (no terraform on PATH; run .ci/tools.sh install_tools)"
		return
	}
	TERRAFORM_VERSION=$(TF_CLI_CONFIG_FILE=/dev/null "$tf" version -json | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p')
	[ -n "$TERRAFORM_VERSION" ] || return 1
	ref=hashicorp/terraform:$TERRAFORM_VERSION
	provider=$(test_provider) || {
		missing_image "$ref" "terraform image: the aws test provider (internal/testprovider) does not build"
		return
	}
	key="$(sha256sum <"$tf") $(sha256sum <"$provider")"
	image_current "$ref" "$key" && return
	log "building $ref (Terraform from $tf, hashicorp/aws $AWS_TEST_PROVIDER_VERSION = internal/testprovider)"
	dir=$(layer_dir terraform)
	mkdir -p "$dir$PLUGIN_MIRROR/registry.terraform.io/hashicorp/aws/$AWS_TEST_PROVIDER_VERSION/linux_amd64" &&
		cp "$provider" "$dir$PLUGIN_MIRROR/registry.terraform.io/hashicorp/aws/$AWS_TEST_PROVIDER_VERSION/linux_amd64/terraform-provider-aws_v$AWS_TEST_PROVIDER_VERSION" ||
		return 1
	push_terraform "$ref" "$key" "$dir" "$tf"
}

# PLUGIN_MIRROR is where a Terraform image holds its providers; its CLI configuration
# installs hashicorp/aws from there only.
PLUGIN_MIRROR=/usr/local/share/terraform/plugins

# push_terraform REF KEY DIR TF: DIR holds the providers under $PLUGIN_MIRROR; adds the
# Terraform binary TF and its CLI configuration, and pushes REF with terraform as entrypoint.
push_terraform() {
	local ref=$1 key=$2 dir=$3 tf=$4
	mkdir -p "$dir/usr/local/bin" "$dir/etc" && cp "$tf" "$dir/usr/local/bin/terraform" || return 1
	cat >"$dir/etc/terraformrc" <<EOF || return 1
provider_installation {
  filesystem_mirror {
    path    = "$PLUGIN_MIRROR"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
EOF
	push_image "$ref" "$key" "$dir" --entrypoint /usr/local/bin/terraform -e TF_CLI_CONFIG_FILE=/etc/terraformrc
}

# terraform_aws_image: Terraform with the real hashicorp/aws provider, when this machine holds
# one in a filesystem mirror (this kind of machine ships 5.100.0 in /opt/tf-plugins;
# INFRAPIPE_AWS_PROVIDER_MIRROR names another). The example stack needs it (KMS keys, alarms,
# bucket policies), so the end-to-end suite runs the README's main command with it, as
# --terraform-image=$TERRAFORM_AWS_IMAGE. Without a mirror it is skipped, saying so.
TERRAFORM_AWS_IMAGE=
terraform_aws_image() {
	local mirror=${INFRAPIPE_AWS_PROVIDER_MIRROR:-/opt/tf-plugins} tf key dir ref providers
	providers=("$mirror"/registry.terraform.io/hashicorp/aws/*/linux_amd64/terraform-provider-aws_*)
	if [ ! -f "${providers[0]}" ]; then
		log "real aws provider: none in $mirror (set INFRAPIPE_AWS_PROVIDER_MIRROR); the README's main command is not run here"
		return 0
	fi
	tf=$(command -v terraform) || return 0
	ref=infrapipe/terraform-aws:$TERRAFORM_VERSION
	key="$(sha256sum <"$tf") $(stat -c '%n %s %Y' "${providers[@]}" | sha256sum)"
	TERRAFORM_AWS_IMAGE=$REGISTRY/$ref
	image_current "$ref" "$key" && return
	log "building $ref (Terraform $TERRAFORM_VERSION and the real hashicorp/aws from $mirror)"
	dir=$(layer_dir terraform-aws)
	mkdir -p "$dir$PLUGIN_MIRROR" && cp -r "$mirror/registry.terraform.io" "$dir$PLUGIN_MIRROR/" || return 1
	push_terraform "$ref" "$key" "$dir" "$tf"
}

# module_default_terraform: the Terraform version .dagger/main.go defaults to.
module_default_terraform() {
	local tf
	tf=$(sed -n 's/^\tdefaultTerraformVersion *= *"\(.*\)"/\1/p' "$REPO/.dagger/main.go" 2>/dev/null)
	echo "${tf:-1.11.4}"
}

# test_provider: builds internal/testprovider once per hash of its sources; prints the binary.
test_provider() {
	local src=$REPO/internal/testprovider hash out
	[ -f "$src/go.mod" ] || return 1
	hash=$(cd "$src" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
	out=$ENGINE_HOME/testprovider/$hash
	if [ ! -x "$out/terraform-provider-aws" ]; then
		log "building the aws test provider (internal/testprovider, up to 5 minutes cold)"
		rm -rf "$out.tmp" && mkdir -p "$out.tmp" || return 1
		(cd "$src" && GOWORK=off CGO_ENABLED=0 go build -o "$out.tmp/terraform-provider-aws" .) >&2 || return 1
		publish "$out.tmp" "$out" || return 1
	fi
	echo "$out/terraform-provider-aws"
}

# tool_binary NAME VERSION: the binary .ci/tools.sh caches; empty when it is not there (yet).
tool_binary() {
	local name=$1 version=$2 pkg=$3
	shift 3
	local bin=$TOOLS_DIR/$name-$version/$name
	if [ ! -x "$bin" ] && [ "${INFRAPIPE_ENGINE_BUILD_TOOLS:-}" = 1 ] && [ ! -d "$bin.tmp" ] && [ ! -d "$TOOLS_DIR/$name-$version.tmp" ]; then
		# shellcheck disable=SC1091 # tools.sh is checked on its own
		(source "$HERE/tools.sh" && go_tool "$name" "$version" "$pkg" "$@") >&2 || true
	fi
	[ -x "$bin" ] && echo "$bin"
}

# binary_image REF NAME VERSION PACKAGE [ENV...]: a tool image holding one Go binary from the
# tools cache, that binary as entrypoint.
binary_image() {
	local ref=$1 name=$2 version=$3 bin key dir
	bin=$(tool_binary "$name" "$version" "${@:4}") || {
		if [ -f "$(marker_of "$ref")" ] && crane digest "$REGISTRY/$(repo_of "$ref")" >/dev/null 2>&1; then
			log "$name image ($ref): kept the one built earlier ($name $version is no longer in $TOOLS_DIR)"
		elif [ -d "$TOOLS_DIR/$name-$version.tmp" ]; then
			missing_image "$ref" "$name image ($ref): $name $version is still being built by .ci/tools.sh; run 'up' again when it is done"
		else
			missing_image "$ref" "$name image ($ref): no $name $version in $TOOLS_DIR (source .ci/tools.sh; install_tools, or INFRAPIPE_ENGINE_BUILD_TOOLS=1)"
		fi
		return 0
	}
	key=$(sha256sum <"$bin")
	image_current "$ref" "$key" && return
	log "building $ref ($bin)"
	dir=$(layer_dir "$name")
	mkdir -p "$dir/usr/local/bin" && cp "$bin" "$dir/usr/local/bin/$name" || return 1
	push_image "$ref" "$key" "$dir" --entrypoint "/usr/local/bin/$name"
}

# moto_image: moto_server from this machine's Python (a self-contained prefix, e.g. pyenv's,
# copied to the same path so its scripts' shebangs hold), python3 on PATH for the module's
# bootstrap script. Upstream's entrypoint and port.
moto_image() {
	local info='' prefix base version key dir ref=$MOTO_IMAGE py
	for py in python3 python; do
		info=$("$py" -c 'import sys, moto; print(sys.prefix, sys.base_prefix, moto.__version__, "%d.%d" % sys.version_info[:2])' 2>/dev/null) && break
	done
	[ -n "$info" ] || {
		missing_image "$ref" "moto image ($ref): not obtainable here (no Python with moto on PATH; PyPI unreachable)"
		return 0
	}
	read -r prefix base version py <<<"$info"
	if [ "$prefix" != "$base" ] || [ "$prefix" = /usr ] || [ ! -x "$prefix/bin/moto_server" ]; then
		missing_image "$ref" "moto image ($ref): the Python with moto ($prefix) is not a self-contained prefix with moto_server"
		return 0
	fi
	key="$prefix $version $(stat -c %Y "$prefix/lib/python$py/site-packages")"
	image_current "$ref" "$key" && return
	[ "$ref" = "motoserver/moto:$version" ] || log "note: $ref holds moto $version (the version installed here)"
	log "building $ref (Python $py from $prefix)"
	dir=$(layer_dir moto)
	mkdir -p "$dir/usr/local/bin" "$dir$(dirname "$prefix")" || return 1
	# Python's own tests and the AWS CLI are not needed to serve the emulator.
	tar -C "$(dirname "$prefix")" --exclude="lib/python$py/test" --exclude="site-packages/awscli" \
		-cf - "$(basename "$prefix")" | tar -C "$dir$(dirname "$prefix")" -xf - || return 1
	ln -s "$prefix/bin/python3" "$dir/usr/local/bin/python3" &&
		ln -s "$prefix/bin/python3" "$dir/usr/local/bin/python" &&
		ln -s "$prefix/bin/moto_server" "$dir/usr/local/bin/moto_server" || return 1
	push_image "$ref" "$key" "$dir" --entrypoint /usr/local/bin/moto_server,-H,0.0.0.0,-p,5000 --exposed-ports 5000
}

missing_image() {
	MISSING_IMAGES+=("$1")
	log "$2"
}

# tool_images: every default image of the module that can be had here; one line for each that
# cannot. A tool that fails to build skips its image, never the engine.
tool_images() {
	local line ref
	terraform_image || missing_image "hashicorp/terraform:$TERRAFORM_VERSION" "terraform image: build failed"
	terraform_aws_image || { TERRAFORM_AWS_IMAGE= && log "terraform image with the real aws provider: build failed"; }
	binary_image "$TFLINT_IMAGE" tflint v0.64.0 github.com/terraform-linters/tflint ||
		missing_image "$TFLINT_IMAGE" "tflint image: build failed"
	binary_image "$TRIVY_IMAGE" trivy v0.74.0 github.com/aquasecurity/trivy/cmd/trivy GOEXPERIMENT=jsonv2 ||
		missing_image "$TRIVY_IMAGE" "trivy image: build failed"
	binary_image "$OPA_IMAGE" opa v1.15.2 github.com/open-policy-agent/opa ||
		missing_image "$OPA_IMAGE" "opa image: build failed"
	moto_image || missing_image "$MOTO_IMAGE" "moto image: build failed"
	collect_registry_garbage
	for line in "${UNOBTAINABLE[@]}"; do
		ref=${line#*(} && MISSING_IMAGES+=("${ref%%)*}")
		log "$line"
	done
	check_module_defaults
}

# check_module_defaults: warn when .dagger/main.go's default images moved on from these.
check_module_defaults() {
	local main=$REPO/.dagger/main.go ref
	[ -f "$main" ] || return 0
	for ref in "$TFLINT_IMAGE" "$TRIVY_IMAGE" "$OPA_IMAGE" "$MOTO_IMAGE"; do
		grep -q "\"$ref\"" "$main" || log "warning: .dagger/main.go no longer defaults to $ref; update .ci/engine.sh"
	done
}

# ---------------------------------------------------------------------------------------
# The engine

# engine_files: what the engine's mount namespace binds: runc and dagger-init where the engine
# looks for them, a private copy of /etc/ssl/certs, an empty custom-CA directory, the CNI
# plugins (Debian's plus dagger's dnsname), buildkitd.toml and the engine's own config (log
# level: the engine logs at debug by default, megabytes per pipeline run).
engine_files() {
	local ns=$ENGINE_HOME/ns p
	rm -rf "$ns.tmp" && mkdir -p "$ns.tmp/bin" "$ns.tmp/cni" "$ns.tmp/no-custom-ca" "$ns.tmp/etc-dagger"
	cp "$(command -v runc || echo /usr/sbin/runc)" "$ns.tmp/bin/runc"
	cp "$BIN/dagger-init" "$ns.tmp/bin/dagger-init"
	for p in /usr/lib/cni/*; do ln -s "$p" "$ns.tmp/cni/"; done
	cp "$BIN/dnsname" "$ns.tmp/cni/dnsname"
	cp -a /etc/ssl/certs "$ns.tmp/certs"
	sed "s/@REGISTRY@/$REGISTRY/g" "$HERE/engine/buildkitd.toml" >"$ns.tmp/buildkitd.toml"
	echo "{\"logLevel\": \"$ENGINE_LOG_LEVEL\"}" >"$ns.tmp/etc-dagger/engine.json"
	publish "$ns.tmp" "$ns"
}

# ns_start: runs inside `unshare -m` (see start_engine) and becomes the engine.
ns_start() {
	local ns=$ENGINE_HOME/ns
	mount -t tmpfs tmpfs /run/buildkit
	mount -t tmpfs tmpfs /run/dagger
	mount --bind "$ns/bin" /usr/local/bin
	mount --bind "$ns/certs" /etc/ssl/certs
	# With local CAs in /usr/local/share/ca-certificates the engine wraps every exec in a
	# Debian image with two runs of update-ca-certificates (8 s per exec measured here); the
	# images built here carry those CAs already, so the engine sees none.
	[ -d /usr/local/share/ca-certificates ] && mount --bind "$ns/no-custom-ca" /usr/local/share/ca-certificates
	mount --bind "$ns/etc-dagger" /etc/dagger
	mount --bind "$ENGINE_HOME/content" /usr/local/share/dagger/content
	exec "$BIN/dagger-engine" --config "$ns/buildkitd.toml" --root "$ENGINE_HOME/state" \
		--addr "unix://$ENGINE_SOCK" --network-name "$NETWORK_NAME" --network-cidr "$NETWORK_CIDR" \
		--oci-cni-binary-dir "$ns/cni"
}

# make_room: with less than MIN_FREE_GB free where the engine keeps its state, stop the
# engine and clear that state. The engine sizes its garbage collector from the disk's size,
# not from this machine's share of it: here it counted on 252 GB (collecting only past
# 189 GB used or under 51 GB free) while about 92 GB were ours, so it never collected, and its
# state grew to 59 GB until the end-to-end suite failed with "no space left on device". The
# state is a cache: images come back from the local registry, the Go SDK's caches from
# warm_go_sdk.
make_room() {
	local free_gb
	mkdir -p "$ENGINE_HOME/state"
	free_gb=$(($(df -Pk "$ENGINE_HOME/state" | awk 'NR == 2 { print $4 }') / 1024 / 1024))
	[ "$free_gb" -lt "$MIN_FREE_GB" ] || return 0
	log "only $free_gb GB free (under $MIN_FREE_GB GB): clearing the engine's cache ($(du -sh "$ENGINE_HOME/state" 2>/dev/null | cut -f1))"
	if pid_of "$ENGINE_PID" dagger-engine >/dev/null; then
		stop_pid "$ENGINE_PID" dagger-engine
	fi
	rm -rf "$ENGINE_HOME/state" "$ENGINE_HOME"/warm-*
}

engine_answers() {
	_EXPERIMENTAL_DAGGER_RUNNER_HOST=unix://$ENGINE_SOCK DAGGER_NO_NAG=1 DO_NOT_TRACK=1 \
		timeout 20 "$BIN/dagger" core version </dev/null >/dev/null 2>&1
}

# engine_config: what a running engine must have been started with to be reused (edits
# elsewhere in this script do not restart it).
engine_config() {
	{
		cat "$ENGINE_HOME/content.digest" "$HERE/engine/buildkitd.toml"
		declare -f engine_files ns_start
		echo "$ENGINE_LOG_LEVEL $NETWORK_NAME $NETWORK_CIDR $REGISTRY"
		sha256sum <"$BIN/dagger-engine"
	} | sha256sum
}

start_engine() {
	local digest i
	if pid_of "$ENGINE_PID" dagger-engine >/dev/null; then
		if [ "$(cat "$ENGINE_HOME/engine.config" 2>/dev/null)" = "$(engine_config)" ] && engine_answers; then
			return
		fi
		log "restarting the engine (its configuration changed, or it does not answer)"
		stop_pid "$ENGINE_PID" dagger-engine
	fi
	engine_files
	digest=$(cat "$ENGINE_HOME/content.digest")
	# Mount points; they stay empty on the host.
	mkdir -p /run/buildkit /run/dagger /usr/local/share/dagger/content /etc/dagger "$ENGINE_HOME/state"
	rm -f "$ENGINE_SOCK"
	[ -f "$ENGINE_HOME/engine.log" ] && mv -f "$ENGINE_HOME/engine.log" "$ENGINE_HOME/engine.log.1"
	log "starting the engine (log: $ENGINE_HOME/engine.log)"
	# setsid: the engine outlives this shell; 9>&-: it must not hold our lock. The environment is
	# a clean one: the engine passes GOPROXY and proxy settings on to the Go SDK.
	env -i PATH="$IMAGE_PATH" HOME="$HOME" ENGINE_HOME="$ENGINE_HOME" INFRAPIPE_CACHE="${INFRAPIPE_CACHE:-}" \
		INFRAPIPE_ENGINE_CIDR="$NETWORK_CIDR" INFRAPIPE_REGISTRY_PORT="$REGISTRY_PORT" \
		INFRAPIPE_ENGINE_NETWORK="$NETWORK_NAME" \
		INFRAPIPE_ENGINE_LOG_LEVEL="$ENGINE_LOG_LEVEL" \
		DAGGER_GO_SDK_MANIFEST_DIGEST="$digest" \
		${GOPROXY:+GOPROXY="$GOPROXY"} ${HTTPS_PROXY:+HTTPS_PROXY="$HTTPS_PROXY"} \
		${HTTP_PROXY:+HTTP_PROXY="$HTTP_PROXY"} ${NO_PROXY:+NO_PROXY="$NO_PROXY"} \
		setsid nohup unshare -m --propagation private bash "$HERE/engine.sh" _ns_start \
		>>"$ENGINE_HOME/engine.log" 2>&1 </dev/null 9>&- &
	echo $! >"$ENGINE_PID"
	local start=$SECONDS
	for i in $(seq 90); do
		if engine_answers; then
			engine_config >"$ENGINE_HOME/engine.config"
			log "engine answers after $((SECONDS - start)) s"
			return
		fi
		kill -0 "$(cat "$ENGINE_PID")" 2>/dev/null || break # exited (setsid, unshare and bash exec into it)
		sleep 2
	done
	tail -n 30 "$ENGINE_HOME/engine.log" >&2
	die "the engine did not answer on unix://$ENGINE_SOCK"
}

# warm_go_sdk: once per Go SDK image, `dagger init` and `dagger functions` on a throwaway
# module. It proves that modules load, and fills the engine's Go module and build cache
# volumes (they persist in ENGINE_HOME/state), so the next module's first load does not pay
# for compiling the SDK's dependencies (1.5-2 minutes here, about 8 s afterwards).
warm_go_sdk() {
	local marker dir
	marker=$ENGINE_HOME/warm-$(cut -c8-19 <"$ENGINE_HOME/content.digest")
	[ -f "$marker" ] && return
	log "checking that a Go module loads, and warming the Go SDK's caches (1-2 minutes, once)"
	dir=$(mktemp -d)
	if (cd "$dir" && export _EXPERIMENTAL_DAGGER_RUNNER_HOST=unix://$ENGINE_SOCK DAGGER_NO_NAG=1 DO_NOT_TRACK=1 &&
		"$BIN/dagger" init --sdk=go --name=warmup --source=. --license= --progress=plain </dev/null &&
		"$BIN/dagger" functions --progress=plain </dev/null) >"$ENGINE_HOME/warmup.log" 2>&1; then
		rm -rf "$dir" "$ENGINE_HOME"/warm-*
		touch "$marker"
		return
	fi
	rm -rf "$dir"
	tail -n 30 "$ENGINE_HOME/warmup.log" >&2
	die "the engine runs, but a Go module does not load (log: $ENGINE_HOME/warmup.log)"
}

# ---------------------------------------------------------------------------------------
# Commands

write_env() {
	local kind=$1 path_dir=$2 tf=$3 env=$ENGINE_HOME/env
	{
		echo "# written by .ci/engine.sh up ($(date -u +%FT%TZ))"
		echo "export PATH=\"$path_dir:\$PATH\""
		[ "$kind" = host ] && echo "export _EXPERIMENTAL_DAGGER_RUNNER_HOST=unix://$ENGINE_SOCK"
		echo "export INFRAPIPE_ENGINE=$kind"
		echo "export INFRAPIPE_TERRAFORM_VERSION=$tf"
		echo "export INFRAPIPE_MISSING_IMAGES=\"${MISSING_IMAGES[*]}\""
		echo "export INFRAPIPE_TERRAFORM_AWS_IMAGE=$TERRAFORM_AWS_IMAGE"
		echo "export DAGGER_NO_NAG=1"
		echo "export DO_NOT_TRACK=1"
	} >"$env.tmp"
	mv "$env.tmp" "$env"
	echo "$env"
}

cmd_up() {
	mkdir -p "$ENGINE_HOME"
	exec 9>"$ENGINE_HOME/lock"
	flock 9
	if existing_engine; then
		log "using the engine of $(command -v dagger) (engine $EXISTING_VERSION; the module asks for $DAGGER_VERSION)"
		write_env existing "$(dirname "$(command -v dagger)")" "$(module_default_terraform)"
		return
	fi
	[ "$(id -u)" -eq 0 ] || die "no dagger engine answers, and running one on the host needs root"
	install_packages
	build_dagger
	install_helpers
	start_registry
	base_image
	go_sdk_image
	tool_images
	make_room
	start_engine
	warm_go_sdk
	write_env host "$BIN" "$TERRAFORM_VERSION"
}

cmd_down() {
	mkdir -p "$ENGINE_HOME"
	exec 9>"$ENGINE_HOME/lock"
	flock 9
	if pid_of "$ENGINE_PID" dagger-engine >/dev/null; then
		log "stopping the engine"
		stop_pid "$ENGINE_PID" dagger-engine
	fi
	if pid_of "$REGISTRY_PID" registry >/dev/null; then
		log "stopping the registry"
		stop_pid "$REGISTRY_PID" registry
	fi
}

cmd_status() {
	local pid
	if pid=$(pid_of "$ENGINE_PID" dagger-engine); then
		if engine_answers; then
			echo "engine: running on this host (pid $pid, unix://$ENGINE_SOCK, registry $REGISTRY $(registry_up && echo up || echo down))"
		else
			echo "engine: started on this host but not answering (pid $pid, log $ENGINE_HOME/engine.log)"
		fi
	elif command -v dagger >/dev/null 2>&1 && [ "$(command -v dagger)" != "$BIN/dagger" ]; then
		echo "engine: none on this host; 'up' will try the engine of $(command -v dagger)"
	else
		echo "engine: not running ('bash .ci/engine.sh up' starts one; cache $ENGINE_HOME)"
	fi
}

# cmd_codegen: dagger's code generator, which needs no engine: the offline module check runs
# it on a copy of the module with the committed schema.
cmd_codegen() {
	mkdir -p "$ENGINE_HOME"
	exec 9>"$ENGINE_HOME/lock"
	flock 9
	build_dagger
	echo "$BIN/codegen"
}

# cmd_schema: the introspection the engine hands a module's SDK (Host hidden, as
# core.TypesToIgnoreForModuleIntrospection does), asked from outside any module so that no
# module's own types are in it.
cmd_schema() {
	(cd / && echo '{ __schemaJSONFile(hiddenTypes: ["Host"]) { contents } }' | dagger query) |
		python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin)["__schemaJSONFile"]["contents"])'
}

main() {
	case "${1:-}" in
	up) cmd_up ;;
	down) cmd_down ;;
	status) cmd_status ;;
	codegen) cmd_codegen ;;
	schema) cmd_schema ;;
	_ns_start) ns_start ;;
	_step) # debugging: run one step, e.g. `_step go_sdk_image`
		shift
		mkdir -p "$ENGINE_HOME"
		"$@"
		;;
	*)
		echo "usage: $0 up|down|status|codegen|schema" >&2
		return 2
		;;
	esac
}

# On one line, so that bash has read it whole before running: editing this file while it runs
# cannot make bash execute a stray fragment.
main "$@"; exit $?
