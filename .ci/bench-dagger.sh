#!/usr/bin/env bash
# Times the Dagger layer on a real engine and prints the table of the engine issue: Dagger's
# floor (a warm call that is never cached), a warm plan against the same raw Terraform, the
# pipeline as one call against its steps as separate calls, and the cold call after a module
# change against an empty module's. Each figure is the median of RUNS runs (default 3).
#
# Usage: .ci/bench-dagger.sh [env file from `.ci/engine.sh up`]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
env_file=${1:-$(bash .ci/engine.sh up)}
# shellcheck source=/dev/null
source "$env_file"
runs=${RUNS:-3}
RUN=0 # the run number median sets; 0 while warming up
work=$(mktemp -d)
moto_pid=
cleanup() {
	[ -z "$moto_pid" ] || kill "$moto_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
unset TF_CLI_CONFIG_FILE

# A moto_server on the host keeps state across calls, as a real account does.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 150); do curl -fs -o /dev/null "http://127.0.0.1:$port/moto-api/" && break; sleep 0.2; done
curl -fs -o /dev/null "http://127.0.0.1:$port/moto-api/" || { echo "bench: moto_server did not start on port $port" >&2; exit 1; }
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_ENDPOINT_URL=http://127.0.0.1:$port
curl -fs -X PUT -o /dev/null "$AWS_ENDPOINT_URL/infrapipe-bench-state"

stack=$work/stack
cp -r .ci/bench/stack "$stack"
emulator=(--aws-emulator="tcp://localhost:$port" --aws-emulator-port="$port")
call=(dagger call --source="$stack" --terraform-dir=.)

# seconds CMD...: wall time of one command in seconds; its output goes to $work/last.log.
seconds() {
	local start end
	start=$(date +%s.%N)
	if ! "$@" >"$work/last.log" 2>&1; then
		echo "bench: failed: $*" >&2
		tail -20 "$work/last.log" >&2
		return 1
	fi
	end=$(date +%s.%N)
	awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f\n", e - s }'
}

# median NAME CMD...: runs CMD $runs times (each run's CMD may use $i) and prints the median.
median() {
	local name=$1 i
	shift
	for i in $(seq "$runs"); do
		RUN=$i seconds "$@"
	done | sort -n | awk -v n="$runs" '{ a[NR] = $1 } END { print a[int((n + 1) / 2)] }' >"$work/median-$name"
	cat "$work/median-$name"
}

floor_call() { "${call[@]}" resolve-env --github-event-name=push --github-ref="refs/heads/bench-$RUN-$RANDOM" --requested-env=test; }
plan_call() { "${call[@]}" "${emulator[@]}" plan --env=test; }
raw_plan() {
	local d=$work/raw
	rm -rf "$d" && cp -r .ci/bench/stack "$d"
	(
		cd "$d"
		terraform init -input=false -no-color -backend-config=bucket=infrapipe-bench-state \
			-backend-config=key="raw/test/terraform.tfstate" -backend-config=region=us-east-1 \
			-backend-config=use_lockfile=true -backend-config=use_path_style=true \
			-backend-config="endpoints={s3=\"$AWS_ENDPOINT_URL\",sts=\"$AWS_ENDPOINT_URL\"}" \
			-backend-config=skip_credentials_validation=true -backend-config=skip_requesting_account_id=true
		terraform plan -input=false -no-color -var-file=environments/test.tfvars -out=tfplan
		terraform show -json tfplan >plan.json
	)
}
pipeline_call() { "${call[@]}" "${emulator[@]}" pipeline --env=test --report-on-failure; }
separate_calls() {
	local fn
	for fn in lint "security-scan --env=test" "compliance --env=test" "cost --env=test" "plan --env=test" "apply --env=test" "test --env=test"; do
		# shellcheck disable=SC2086 # fn is a function name and its flags
		"${call[@]}" "${emulator[@]}" $fn >>"$work/separate.log" 2>&1 || true
	done
}

echo "bench: warming up (first calls load the module and pull the images)" >&2
seconds floor_call >/dev/null
seconds plan_call >/dev/null

echo "bench: $runs runs each" >&2
floor=$(median floor floor_call)
plan=$(median plan plan_call)
raw=$(median raw raw_plan)
pipeline=$(median pipeline pipeline_call)
separate=$(median separate seconds separate_calls)

# Cold: the first call after a module change, in a copy of the module, against an empty
# module's first call after the same change.
copy=$work/module
mkdir -p "$copy"
git ls-files -z --cached --others --exclude-standard -- dagger.json .dagger go.mod go.sum ci internal/daggertest |
	while IFS= read -r -d '' f; do [ ! -e "$f" ] || cp --parents "$f" "$copy/"; done
echo "// bench: $(date +%s%N)" >>"$copy/.dagger/main.go"
cold=$(seconds dagger -m "$copy" functions)
empty=$work/empty
mkdir -p "$empty"
cp LICENSE "$empty/" # without one, dagger init asks spdx.org for the licence text
(cd "$empty" && dagger init --sdk=go --name=empty --source=. >/dev/null 2>&1)
echo "// bench: $(date +%s%N)" >>"$empty/main.go"
cold_empty=$(seconds dagger -m "$empty" functions)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
plus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'; }
cat <<EOF
| measure | seconds | against | target |
|---|---:|---|---|
| warm call, never cached (floor) | $floor | | |
| warm plan --env=test (S3 backend on moto) | $plan | floor + raw = $(plus "$floor" "$raw") | at most floor + raw + 2 = $(plus "$(plus "$floor" "$raw")" 2) |
| raw terraform init + plan -out + show -json | $raw | | |
| pipeline --env=test, one call | $pipeline | separate calls $separate (ratio $(ratio "$pipeline" "$separate")) | ratio at most 0.4 |
| first call after a module change | $cold | empty module $cold_empty (+$(awk -v a="$cold" -v b="$cold_empty" 'BEGIN { printf "%.1f", a - b }')) | at most +15 |
EOF
