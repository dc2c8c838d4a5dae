#!/usr/bin/env bash
# Installs the tools the tests run, each built once per version into a cache outside the
# checkout (TOOLS_DIR), so a fresh machine is only slower, never different.
# Usage: source .ci/tools.sh; install_tools   (puts every tool's directory on PATH)
set -euo pipefail

TOOLS_DIR="${TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/infrapipe-tools}"

# go_tool NAME VERSION PACKAGE [ENV...]: go install PACKAGE@VERSION into TOOLS_DIR/NAME-VERSION.
go_tool() {
	local name=$1 version=$2 pkg=$3
	shift 3
	local dir="$TOOLS_DIR/$name-$version"
	if [ ! -x "$dir/$name" ]; then
		echo "tools: building $name $version (cached in $dir)" >&2
		mkdir -p "$dir.tmp"
		env GOBIN="$dir.tmp" GOFLAGS=-buildvcs=false GOTOOLCHAIN=local "$@" go install "$pkg@$version"
		rm -rf "$dir" && mv "$dir.tmp" "$dir"
	fi
	PATH="$dir:$PATH"
}

# terraform_tool: a Terraform >= 1.10 already on PATH is used as is (the S3 backend's
# use_lockfile needs 1.10); otherwise the newest release that go-installs here is built.
terraform_tool() {
	if command -v terraform >/dev/null 2>&1 &&
		terraform version -json 2>/dev/null | grep -Eq '"terraform_version": *"1\.(1[0-9]|[2-9][0-9])\.'; then
		return
	fi
	go_tool terraform v1.8.5 github.com/hashicorp/terraform \
		GOFLAGS="-buildvcs=false -ldflags=-X=github.com/hashicorp/terraform/version.dev=no"
}

apt_tool() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null 2>&1 && return
	echo "tools: apt-get install $pkg" >&2
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg") >/dev/null
}

install_tools() {
	terraform_tool
	go_tool opa v1.15.2 github.com/open-policy-agent/opa
	go_tool actionlint v1.7.12 github.com/rhysd/actionlint/cmd/actionlint
	go_tool tfsec v1.26.0 github.com/aquasecurity/tfsec/cmd/tfsec
	go_tool tflint v0.64.0 github.com/terraform-linters/tflint
	go_tool trivy v0.74.0 github.com/aquasecurity/trivy/cmd/trivy GOEXPERIMENT=jsonv2
	apt_tool shellcheck shellcheck
	command -v moto_server >/dev/null 2>&1 || { echo "tools: moto_server is not installed (pip install 'moto[server]')" >&2; return 1; }
	# SARIF is validated against its JSON schema with the jsonschema module that moto[server] brings.
	python3 -c 'import jsonschema' 2>/dev/null || { echo "tools: python3 has no jsonschema module (pip install jsonschema)" >&2; return 1; }
	export PATH TOOLS_DIR
}
