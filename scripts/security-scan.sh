#!/usr/bin/env bash
# Scans the Terraform code for security problems. A thin wrapper over `dagger call
# security-scan`: the scanners run in their own containers inside the Dagger module.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: security-scan.sh [-h]

Runs the security scanners (checkov, trivy) on the Terraform code; no cloud access needed.

  -h, --help   show this help

Runs: dagger call security-scan
EOF
}

# fail prints the reason and the usage on stderr and exits 2, the usage-error status.
fail() {
	echo "security-scan.sh: $1" >&2
	usage >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	-h | --help)
		usage
		exit 0
		;;
	*) fail "unknown argument: $1" ;;
	esac
done

exec dagger call security-scan
