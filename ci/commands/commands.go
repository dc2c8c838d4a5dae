// Package commands holds the command lines the pipeline runs in its tools' containers:
// Terraform's (install providers, plan, apply, show, state pull, drift), tflint's, Checkov's
// and Trivy's. Each shell script keeps what the pipeline reads afterwards (the files of one
// plan, a tool's exit code, output kept out of logs), which is why they are scripts and not
// bare commands. The module runs them in containers; this package's tests run the same
// lines with the real tools on the host.
package commands

import (
	"fmt"
	"strconv"
	"strings"
)

// script is a command line that runs a shell script: sh -c SCRIPT NAME ARGS..., so the
// script reads its arguments as $1... and never as text spliced into the script.
func script(text, name string, args ...string) []string {
	return append([]string{"sh", "-c", text, name}, args...)
}

// scriptNames say what each script of this package is, for Describe.
var scriptNames = map[string]string{
	"providers": "the providers' install (terraform init -backend=false)",
	"plan":      "terraform plan",
	"show":      "terraform show",
	"b64":       "the saved plan's encoding",
	"apply":     "terraform apply",
	"pull":      "terraform state pull",
	"drift":     "the refresh-only plan",
	"quiet":     "a quiet command",
	"fmt":       "terraform fmt -check",
	"tflint":    "tflint",
}

// Describe names a command line of this package in one short line, for an error that
// reaches a later step: the engine reports a failed set-up exec (the providers' install) at
// the step that evaluates it, which alone would name the wrong command.
func Describe(args []string) string {
	if len(args) >= 4 && args[0] == "sh" && args[1] == "-c" {
		if name, ok := scriptNames[args[3]]; ok {
			return name
		}
	}
	line := strings.Join(strings.Fields(strings.Join(args, " ")), " ")
	if len(line) > 100 {
		line = line[:97] + "..."
	}
	return line
}

// installProvidersScript installs providers through the plugin cache (TF_PLUGIN_CACHE_DIR), then
// dereferences the cache's symlinks so the providers outlive the cache mount.
const installProvidersScript = `set -eu
terraform init -backend=false -input=false -no-color
if [ -d .terraform/providers ]; then
	cp -RL .terraform/providers .terraform/providers.copy
	rm -rf .terraform/providers
	mv .terraform/providers.copy .terraform/providers
fi`

// InstallProviders is terraform init without a backend, with the providers copied out of
// the plugin cache.
func InstallProviders() []string { return script(installProvidersScript, "providers") }

// UpdateModules fetches the configuration's remote modules again, as they are now: a
// module that follows a branch, or a version constraint, resolves at each run the way a
// fresh checkout's terraform init resolves it, not the way InstallProviders did when the
// engine cached it.
func UpdateModules() []string { return []string{"terraform", "get", "-update", "-no-color"} }

// planScript runs plan, then renders the saved plan as JSON and text, in one exec: the three
// files describe the same plan, never two runs. The exit code of plan (0 no changes, 2
// changes) is kept in plan.exitcode.
const planScript = `set -u
out=$1
shift
mkdir -p "$out"
terraform plan -input=false -no-color -detailed-exitcode -out="$out/tfplan" "$@" >"$out/plan.log" 2>&1
code=$?
cat "$out/plan.log"
echo "$code" >"$out/plan.exitcode"
if [ "$code" -ne 0 ] && [ "$code" -ne 2 ]; then
	exit "$code"
fi
terraform show -json "$out/tfplan" >"$out/plan.json" || exit 1
terraform show -no-color "$out/tfplan" >"$out/plan.txt" || exit 1`

// Plan runs terraform plan with args and leaves out/{tfplan,plan.json,plan.txt,plan.log,
// plan.exitcode}; it fails when plan fails, with plan's output.
func Plan(out string, args ...string) []string {
	return script(planScript, "plan", append([]string{out}, args...)...)
}

// showScript renders a saved plan (out/tfplan) as JSON and text, as plan does.
const showScript = `terraform show -json "$1/tfplan" >"$1/plan.json" && terraform show -no-color "$1/tfplan" >"$1/plan.txt"`

// Show renders the saved plan out/tfplan into out/plan.json and out/plan.txt.
func Show(out string) []string { return script(showScript, "show", out) }

// ShowEncoded decodes a base64 saved plan (a stored plan, mounted as a secret) into
// out/tfplan and renders it, as Show does.
func ShowEncoded(out, encoded string) []string {
	return script(`base64 -d "$2" >"$1/tfplan" && `+showScript, "show", out, encoded)
}

// Encode writes out/tfplan as base64 to out/tfplan.b64: the engine's API carries file
// contents as text, which a zip would not survive.
func Encode(out string) []string { return script(`base64 "$1/tfplan" >"$1/tfplan.b64"`, "b64", out) }

// applyScript applies the saved plan of the same run: never a fresh plan, so what was reviewed
// and gated is what changes.
const applyScript = `set -u
out=$1
plan=$2
shift 2
mkdir -p "$out"
terraform apply -input=false -no-color -auto-approve "$@" "$plan" >"$out/apply.log" 2>&1
code=$?
cat "$out/apply.log"
exit "$code"`

// Apply applies the saved plan with args (locking flags) and leaves out/apply.log.
func Apply(out, plan string, args ...string) []string {
	return script(applyScript, "apply", append([]string{out, plan}, args...)...)
}

// ApplyRefresh applies a saved refresh-only plan (state.DriftArgs'), with args (locking):
// the state takes in what the objects hold now, and nothing else changes.
func ApplyRefresh(plan string, args ...string) []string {
	return append(append([]string{"terraform", "apply", "-input=false", "-no-color"}, args...), plan)
}

// Pull writes `terraform state pull` (the state exactly as the backend holds it, empty
// when there is none) to file.
func Pull(file string) []string {
	return script(`mkdir -p "$(dirname "$1")" && terraform state pull >"$1"`, "pull", file)
}

// driftScript runs the refresh-only plan and keeps its exit code (0 none, 2 drift, 1 error) for
// ci/state, which also reads a held lock out of the output.
const driftScript = `set -u
out=$1
shift
mkdir -p "$out"
terraform "$@" >"$out/drift.log" 2>&1
code=$?
cat "$out/drift.log"
echo "$code" >"$out/drift.exitcode"
if [ "$code" -eq 0 ] || [ "$code" -eq 2 ]; then
	terraform show -json "$out/drift.tfplan" >"$out/drift.json" || exit 1
else
	: >"$out/drift.json"
fi`

// Drift runs terraform with args (ci/state's refresh-only plan, saving to
// out/drift.tfplan) and leaves out/{drift.log,drift.exitcode,drift.json}.
func Drift(out string, args ...string) []string {
	return script(driftScript, "drift", append([]string{out}, args...)...)
}

// LockProbe is a plan without refresh that gives up at once on a held lock: it takes the
// state's lock exactly as apply would, for any backend (S3 lockfile or DynamoDB), so its
// failure names the lock that holds the state (ci/state.ReadLockProbe) and its success
// means none does. args are the variables files.
func LockProbe(args ...string) []string {
	return append([]string{"terraform", "plan", "-input=false", "-no-color", "-refresh=false", "-lock=true", "-lock-timeout=0s"}, args...)
}

// quietScript runs a command with its output in files instead of the engine's progress stream,
// which CI logs print.
const quietScript = `out=$1
shift
mkdir -p "$out"
"$@" >"$out/stdout" 2>"$out/stderr"
echo $? >"$out/code"`

// Quiet runs args with stdout, stderr and the exit code in dir/{stdout,stderr,code}, for
// commands whose output can hold secrets (terraform output -json). ReadQuiet reads them.
func Quiet(dir string, args ...string) []string {
	return script(quietScript, "quiet", append([]string{dir}, args...)...)
}

// ReadQuiet reads what Quiet left of the command named cmd, through read, which is given
// a file name of Quiet's dir: its exit code, stdout and stderr.
func ReadQuiet(cmd string, read func(name string) (string, error)) (code int, stdout, stderr string, err error) {
	var out [3]string
	for i, name := range []string{"code", "stdout", "stderr"} {
		if out[i], err = read(name); err != nil {
			return 0, "", "", fmt.Errorf("read the %s of %s: %w", name, cmd, err)
		}
	}
	if code, err = strconv.Atoi(strings.TrimSpace(out[0])); err != nil {
		return 0, "", "", fmt.Errorf("exit code of %s: %q: %w", cmd, out[0], err)
	}
	return code, out[1], out[2], nil
}

// fmtCheckScript lists the files terraform fmt would rewrite on stdout and shows the changes
// (-diff) on stderr, keeping the list's exit code.
const fmtCheckScript = `terraform fmt -check -recursive -list=true -no-color
code=$?
[ "$code" -eq 0 ] || terraform fmt -check -recursive -diff -no-color >&2
exit "$code"`

// FmtCheck is terraform fmt -check of the working directory, recursively.
func FmtCheck() []string { return script(fmtCheckScript, "fmt") }

// tflintScript installs the plugins .tflint.hcl asks for, then lints every module into
// $1/tflint.json. --force keeps the exit code for tflint's own failures, so issues come
// back as findings. The stack's .tflint.hcl, or else the repository's at its root ($2, as a
// pre-commit hook's --config=__GIT_WORKING_DIR__/.tflint.hcl has it), is given by its
// absolute path: with --recursive, tflint otherwise lints each local module with that
// module's own configuration or none, and a rule the stack turned off fires in its modules.
const tflintScript = `set -eu
out=$1 root=$2
mkdir -p "$out"
if [ -f .tflint.hcl ]; then set -- --config="$PWD/.tflint.hcl"
elif [ -f "$root/.tflint.hcl" ]; then set -- --config="$root/.tflint.hcl"
else set --; fi
tflint --init --recursive "$@" >&2
tflint --recursive "$@" --format=json --force >"$out/tflint.json"`

// Tflint lints the working directory's modules into out/tflint.json; root is the
// repository's root, whose .tflint.hcl serves a stack without its own.
func Tflint(out, root string) []string { return script(tflintScript, "tflint", out, root) }

// Checkov scans the working directory's Terraform into out/results_sarif.sarif.
// --soft-fail leaves the verdict to the environment's threshold; a crash still fails.
func Checkov(out string) []string {
	return []string{
		"checkov", "--directory", ".", "--framework", "terraform",
		"--output", "sarif", "--output-file-path", out,
		"--soft-fail", "--quiet", "--compact", "--download-external-modules", "false",
	}
}

// Trivy scans the working directory's Terraform for misconfigurations into a JSON report,
// which carries Trivy's own severities (SARIF flattens them). Offline, Trivy falls back to
// its embedded checks; --exit-code 0 leaves the verdict to the threshold.
func Trivy(cacheDir, report string) []string {
	return []string{
		"trivy", "config", "--cache-dir", cacheDir, "--format", "json",
		"--output", report, "--exit-code", "0", ".",
	}
}
