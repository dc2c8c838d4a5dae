package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/plan"
	"github.com/infrapipe/infrapipe/ci/report"
	"github.com/infrapipe/infrapipe/ci/state"
)

const (
	// srcMount is where the repository sits in every container.
	srcMount = "/src"
	// outDir collects what a step hands back: plan files, reports, logs.
	outDir = "/out"
	// pluginCache is Terraform's provider plugin cache, a cache volume shared by all runs.
	pluginCache = "/terraform-plugin-cache"
)

// awsCredentials are the AWS secrets of one call. They reach containers only as secret
// environment variables, never as arguments, so they stay out of logs and cache keys.
type awsCredentials struct {
	accessKeyID, secretAccessKey, sessionToken *dagger.Secret
}

// run is one call's view of an environment: its profile, its credentials and, when
// emulating AWS, the started emulator.
type run struct {
	m       *Infra
	env     environment.Name
	profile environment.Profile
	creds   awsCredentials
	// started is set only once the emulator is up, so every container binds the same
	// running instance: moto keeps its state in memory.
	emulator *dagger.Service
}

// newRun resolves the environment through ci/environment (the built-in profiles with the
// repository's pipeline.yaml applied) and starts the AWS emulator when there is one.
func (m *Infra) newRun(ctx context.Context, env string, creds awsCredentials) (*run, error) {
	name, profile, err := m.profile(ctx, env)
	if err != nil {
		return nil, err
	}
	r := &run{m: m, env: name, profile: profile, creds: creds}
	if m.Emulator != nil {
		if r.emulator, err = m.Emulator.Start(ctx); err != nil {
			return nil, fmt.Errorf("start the AWS emulator: %w", err)
		}
	}
	return r, nil
}

// profile is an environment's profile: the built-in defaults with pipeline.yaml applied.
func (m *Infra) profile(ctx context.Context, env string) (environment.Name, environment.Profile, error) {
	name, err := environment.ParseName(env)
	if err != nil {
		return "", environment.Profile{}, fmt.Errorf("--env: %w", err)
	}
	cfg, err := m.config(ctx)
	if err != nil {
		return "", environment.Profile{}, err
	}
	profile, err := cfg.Profile(string(name))
	return name, profile, err
}

// config reads <terraform-dir>/pipeline.yaml, or the built-in profiles when there is none.
func (m *Infra) config(ctx context.Context) (environment.Config, error) {
	p := path.Join(m.TerraformDir, environment.ConfigFile)
	ok, err := m.Source.Exists(ctx, p)
	if err != nil {
		return environment.Config{}, fmt.Errorf("look for %s: %w", p, err)
	}
	if !ok {
		return environment.DefaultConfig(), nil
	}
	data, err := m.Source.File(p).Contents(ctx)
	if err != nil {
		return environment.Config{}, fmt.Errorf("read %s: %w", p, err)
	}
	return environment.Parse(p, []byte(data))
}

// tfDir is the Terraform directory inside containers.
func (m *Infra) tfDir() string { return path.Join(srcMount, m.TerraformDir) }

// terraform is the Terraform image with the repository and the providers the configuration
// needs. It touches no state, so the engine may cache it.
//
// Providers come from a cache volume shared by every run of every pipeline. Terraform's
// plugin cache is not safe for concurrent writers, so the volume is mounted with locked
// sharing for the one exec that installs providers (init without backend), and Terraform's
// symlinks into the cache are replaced by copies before the volume is unmounted. Later
// execs (plan, apply, validate) then run in parallel without holding the lock.
func (m *Infra) terraform() *dagger.Container {
	return dag.Container().
		From(m.TerraformImage).
		WithoutEntrypoint().
		WithEnvVariable("TF_IN_AUTOMATION", "1").
		WithEnvVariable("TF_INPUT", "0").
		WithEnvVariable("CHECKPOINT_DISABLE", "1").
		WithDirectory(srcMount, m.Source).
		WithWorkdir(m.tfDir()).
		WithMountedCache(pluginCache, dag.CacheVolume("infrapipe-terraform-plugins"), dagger.ContainerWithMountedCacheOpts{
			Sharing: dagger.CacheSharingModeLocked,
		}).
		WithEnvVariable("TF_PLUGIN_CACHE_DIR", pluginCache).
		WithExec([]string{"sh", "-c", installProvidersScript}).
		WithoutEnvVariable("TF_PLUGIN_CACHE_DIR").
		WithoutMount(pluginCache)
}

// installProvidersScript installs providers through the plugin cache, then dereferences the
// cache's symlinks so the providers outlive the cache mount.
const installProvidersScript = `set -eu
terraform init -backend=false -input=false -no-color
if [ -d .terraform/providers ]; then
	cp -RL .terraform/providers .terraform/providers.copy
	rm -rf .terraform/providers
	mv .terraform/providers.copy .terraform/providers
fi`

// container is the Terraform container of this run: credentials, region, the emulator when
// there is one, and a cache buster, so nothing after it is ever served from an old run.
func (r *run) container() *dagger.Container {
	ctr := r.m.terraform().
		WithEnvVariable("AWS_REGION", r.region()).
		WithEnvVariable("AWS_DEFAULT_REGION", r.region()).
		// The example stack's provider region; a variables file still wins, and
		// configurations without the variable ignore it.
		WithEnvVariable("TF_VAR_aws_region", r.region())
	ctr = r.withAWS(ctr)
	return ctr.WithEnvVariable("CACHEBUSTER", cacheBuster())
}

// cacheBuster differs on every call: set as an environment variable before an exec, it
// keeps the engine from serving that exec from an earlier run.
func cacheBuster() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// region is the backend's region when pipeline.yaml sets one, else the constructor's.
func (r *run) region() string {
	if r.profile.Backend.Region != "" {
		return r.profile.Backend.Region
	}
	return r.m.Region
}

// withAWS gives a container the run's AWS access: the emulator (bound as host "aws", with
// fake credentials, and the example stack's aws_endpoint variable) or the caller's secrets.
func (r *run) withAWS(ctr *dagger.Container) *dagger.Container {
	if r.emulator != nil {
		return ctr.
			WithServiceBinding(emulatorAlias, r.emulator).
			WithEnvVariable("AWS_ENDPOINT_URL", r.emulatorURL()).
			WithEnvVariable("TF_VAR_aws_endpoint", r.emulatorURL()).
			WithEnvVariable("AWS_ACCESS_KEY_ID", "test").
			WithEnvVariable("AWS_SECRET_ACCESS_KEY", "test")
	}
	for _, s := range []struct {
		name   string
		secret *dagger.Secret
	}{
		{"AWS_ACCESS_KEY_ID", r.creds.accessKeyID},
		{"AWS_SECRET_ACCESS_KEY", r.creds.secretAccessKey},
		{"AWS_SESSION_TOKEN", r.creds.sessionToken},
	} {
		if s.secret != nil {
			ctr = ctr.WithSecretVariable(s.name, s.secret)
		}
	}
	return ctr
}

// emulatorURL is the emulator's address as containers see it.
func (r *run) emulatorURL() string {
	return fmt.Sprintf("http://%s:%d", emulatorAlias, r.m.EmulatorPort)
}

// endpoints point the state backend at the emulator; zero for real AWS.
func (r *run) endpoints() state.Endpoints {
	if r.emulator == nil {
		return state.Endpoints{}
	}
	u := r.emulatorURL()
	return state.Endpoints{S3: u, STS: u, DynamoDB: u}
}

// initialized is the run's container after `terraform init` with the environment's backend,
// which ci/state validates first: a prod run pointed at another environment's state never
// reaches init.
func (r *run) initialized(ctx context.Context) (*dagger.Container, error) {
	backendFile := path.Join("/tmp", string(r.env)+".tfbackend")
	args, err := state.InitArgs(r.env, r.profile.Backend, backendFile)
	if err != nil {
		return nil, err
	}
	ctr := r.container()
	if r.emulator != nil {
		if ctr, err = r.bootstrapEmulator(ctx, ctr); err != nil {
			return nil, err
		}
	}
	ctr = ctr.WithNewFile(backendFile, state.TFBackend(r.profile.Backend, r.endpoints()))
	return r.exec(ctx, ctr, "terraform init", append([]string{"terraform"}, args...))
}

// exec runs one command and turns a failure into an error that names the step, the
// environment and Terraform's own message; a held state lock becomes ci/state's LockError
// with the exact force-unlock command.
func (r *run) exec(ctx context.Context, ctr *dagger.Container, step string, args []string) (*dagger.Container, error) {
	ctr = ctr.WithExec(args, dagger.ContainerWithExecOpts{Expect: dagger.ReturnTypeAny})
	code, err := ctr.ExitCode(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s (%s): %w", step, r.env, err)
	}
	if code == 0 {
		return ctr, nil
	}
	return nil, r.failure(ctx, ctr, step, code)
}

// failure reads a failed exec's output and explains it.
func (r *run) failure(ctx context.Context, ctr *dagger.Container, step string, code int) error {
	stdout, _ := ctr.Stdout(ctx)
	stderr, _ := ctr.Stderr(ctx)
	output := stdout + "\n" + stderr
	if lockErr := state.CheckLock(r.env, output, r.profile.LockTimeout, time.Now()); lockErr != nil {
		return fmt.Errorf("%s: %w", step, lockErr)
	}
	return fmt.Errorf("%s failed in %s (exit code %d):\n%s", step, r.env, code, tail(output, 60))
}

// tail keeps the last n non-empty lines, where tools put their error.
func tail(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines cut]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// reproduce is Infra.reproduce with this run's credentials named as environment variables.
func (r *run) reproduce(fn string, args ...string) string {
	for _, c := range []struct {
		secret *dagger.Secret
		flag   string
	}{
		{r.creds.accessKeyID, "--aws-access-key-id=env:AWS_ACCESS_KEY_ID"},
		{r.creds.secretAccessKey, "--aws-secret-access-key=env:AWS_SECRET_ACCESS_KEY"},
		{r.creds.sessionToken, "--aws-session-token=env:AWS_SESSION_TOKEN"},
	} {
		if c.secret != nil {
			args = append(args, c.flag)
		}
	}
	return r.m.reproduce(fn, args...)
}

// lockArgs are ci/state's locking flags for this environment.
func (r *run) lockArgs() []string { return state.LockArgs(r.profile) }

// varFileArgs passes the environment's variables file when the repository has one.
func (r *run) varFileArgs(ctx context.Context) ([]string, error) {
	if r.profile.VarFile == "" {
		return nil, nil
	}
	p := path.Join(r.m.TerraformDir, r.profile.VarFile)
	ok, err := r.m.Source.Exists(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("look for %s: %w", p, err)
	}
	if !ok {
		return nil, nil
	}
	return []string{"-var-file=" + r.profile.VarFile}, nil
}

// planScript runs plan, then renders the saved plan as JSON and text, in one exec: the three
// files describe the same plan, never two runs. $1 is the output directory; the remaining
// arguments go to terraform plan. The exit code of plan (0 no changes, 2 changes) is kept.
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

// planned runs terraform plan for the run's environment in an initialized container and
// returns the container holding outDir/{tfplan,plan.json,plan.txt,plan.log}. extra adds plan
// flags (-refresh-only for drift).
func (r *run) planned(ctx context.Context, ctr *dagger.Container, extra ...string) (*dagger.Container, error) {
	vars, err := r.varFileArgs(ctx)
	if err != nil {
		return nil, err
	}
	args := []string{"sh", "-c", planScript, "plan", outDir}
	args = append(args, state.LockArgs(r.profile)...)
	args = append(args, vars...)
	args = append(args, extra...)
	step := "terraform plan"
	if len(extra) > 0 {
		step += " " + strings.Join(extra, " ")
	}
	return r.exec(ctx, ctr, step, args)
}

// planFile reads one file of a planned container's output directory.
func planFile(ctx context.Context, ctr *dagger.Container, name string) (string, error) {
	s, err := ctr.File(path.Join(outDir, name)).Contents(ctx)
	if err != nil {
		return "", fmt.Errorf("read %s from the plan step: %w", name, err)
	}
	return s, nil
}

// applyScript applies the saved plan of the same run: never a fresh plan, so what was
// reviewed and gated is what changes. $1 is the output directory (apply.log), $2 the saved
// plan; the remaining arguments go to terraform apply.
const applyScript = `set -u
out=$1
plan=$2
shift 2
mkdir -p "$out"
terraform apply -input=false -no-color -auto-approve "$@" "$plan" >"$out/apply.log" 2>&1
code=$?
cat "$out/apply.log"
exit "$code"`

// applied applies a saved plan file in an initialized container.
func (r *run) applied(ctx context.Context, ctr *dagger.Container, tfplan *dagger.File) (*dagger.Container, error) {
	const planPath = "/tmp/apply/tfplan"
	args := []string{"sh", "-c", applyScript, "apply", outDir, planPath}
	args = append(args, state.LockArgs(r.profile)...)
	return r.exec(ctx, ctr.WithFile(planPath, tfplan), "terraform apply", args)
}

// Plan runs terraform plan for one environment (init with that environment's backend, its
// variables file, the profile's lock timeout) and returns a directory with plan.txt,
// summary.md and result.json: the plan analysed by ci/plan and the safety gate's verdict from
// ci/gate. The saved plan (tfplan) and plan.json hold secrets in clear text and are added
// only with --include-plan. It never reuses an earlier run.
//
// +cache="never"
func (m *Infra) Plan(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
	// Judge the plan as an apply with --force-recreate would.
	// +optional
	forceRecreate bool,
	// Add tfplan and plan.json (clear-text secrets) for `apply --plan`.
	// +optional
	includePlan bool,
	// AWS access key ID, e.g. env:AWS_ACCESS_KEY_ID.
	// +optional
	awsAccessKeyID *dagger.Secret,
	// AWS secret access key, e.g. env:AWS_SECRET_ACCESS_KEY.
	// +optional
	awsSecretAccessKey *dagger.Secret,
	// AWS session token, e.g. env:AWS_SESSION_TOKEN.
	// +optional
	awsSessionToken *dagger.Secret,
) (*dagger.Directory, error) {
	r, err := m.newRun(ctx, env, awsCredentials{awsAccessKeyID, awsSecretAccessKey, awsSessionToken})
	if err != nil {
		return nil, err
	}
	p, err := r.plan(ctx, forceRecreate)
	if err != nil {
		return nil, err
	}
	args := []string{"--env=" + env}
	if forceRecreate {
		args = append(args, "--force-recreate")
	}
	if includePlan {
		args = append(args, "--include-plan")
	}
	return p.report(r.reproduce("plan", args...), includePlan)
}

// planRun is a plan of this run: the container holding its files, what ci/plan read from
// it and what ci/gate decided.
type planRun struct {
	profile  environment.Profile
	ctr      *dagger.Container
	text     string
	analysis *plan.Analysis
	decision gate.Decision
}

func (p *planRun) jsonFile() *dagger.File { return p.ctr.File(path.Join(outDir, "plan.json")) }
func (p *planRun) planFile() *dagger.File { return p.ctr.File(path.Join(outDir, "tfplan")) }

// plan initializes, plans, analyses the plan and applies the safety gate.
func (r *run) plan(ctx context.Context, forceRecreate bool) (*planRun, error) {
	ctr, err := r.initialized(ctx)
	if err != nil {
		return nil, err
	}
	if ctr, err = r.planned(ctx, ctr); err != nil {
		return nil, err
	}
	return r.judge(ctx, ctr, forceRecreate)
}

// judge reads plan.json and plan.txt of a container's outDir through ci/plan and ci/gate.
func (r *run) judge(ctx context.Context, ctr *dagger.Container, forceRecreate bool) (*planRun, error) {
	js, err := planFile(ctx, ctr, "plan.json")
	if err != nil {
		return nil, err
	}
	text, err := planFile(ctx, ctr, "plan.txt")
	if err != nil {
		return nil, err
	}
	a, err := plan.Analyze(strings.NewReader(js))
	if err != nil {
		return nil, fmt.Errorf("%s plan: %w", r.env, err)
	}
	d := gate.Decide(a, r.profile, gate.Options{ForceRecreate: forceRecreate})
	return &planRun{profile: r.profile, ctr: ctr, text: text, analysis: a, decision: d}, nil
}

// report is the plan's directory: plan.txt, summary.md, result.json, and with includePlan
// the secret-bearing tfplan and plan.json.
func (p *planRun) report(reproduce string, includePlan bool) (*dagger.Directory, error) {
	summary, result, err := planReport(p, p.profile, reproduce)
	if err != nil {
		return nil, err
	}
	dir := dag.Directory().
		WithNewFile("plan.txt", p.text).
		WithNewFile("summary.md", summary).
		WithNewFile("result.json", result)
	if includePlan {
		dir = dir.WithFile("tfplan", p.planFile()).WithFile("plan.json", p.jsonFile())
	}
	return dir, nil
}

// Apply applies one environment: plan (or the saved plan given with --plan), the safety gate,
// a state backup in environments whose profile asks for one (staging and prod), then
// terraform apply of exactly that saved plan, never a fresh one. It returns apply.log,
// summary.md, result.json, plan.txt and backups/<state backup> (the state before the apply,
// also kept in the bucket; like any state it holds secrets in clear text).
//
// +cache="never"
func (m *Infra) Apply(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
	// Allow prod to delete or replace resources that are not of a protected type.
	// +optional
	forceRecreate bool,
	// A directory from `plan --include-plan` to apply instead of planning now. Terraform
	// refuses it if the state changed since.
	// +optional
	plan *dagger.Directory,
	// AWS access key ID, e.g. env:AWS_ACCESS_KEY_ID.
	// +optional
	awsAccessKeyID *dagger.Secret,
	// AWS secret access key, e.g. env:AWS_SECRET_ACCESS_KEY.
	// +optional
	awsSecretAccessKey *dagger.Secret,
	// AWS session token, e.g. env:AWS_SESSION_TOKEN.
	// +optional
	awsSessionToken *dagger.Secret,
) (*dagger.Directory, error) {
	r, err := m.newRun(ctx, env, awsCredentials{awsAccessKeyID, awsSecretAccessKey, awsSessionToken})
	if err != nil {
		return nil, err
	}
	args := []string{"--env=" + env}
	if forceRecreate {
		args = append(args, "--force-recreate")
	}
	if plan != nil {
		args = append(args, "--plan=<plan directory>")
	}
	res, err := r.apply(ctx, forceRecreate, plan)
	if err != nil {
		return nil, err
	}
	return res.report(r.reproduce("apply", args...))
}

// applyResult is an applied plan with its backup and log.
type applyResult struct {
	plan   *planRun
	backup backupResult
	log    *dagger.File // nil when the gate blocked or nothing changed
}

// apply is Apply's story: plan, gate, backup, apply the saved plan.
func (r *run) apply(ctx context.Context, forceRecreate bool, saved *dagger.Directory) (*applyResult, error) {
	ctr, err := r.initialized(ctx)
	if err != nil {
		return nil, err
	}
	if saved != nil {
		if err := r.checkSavedPlan(ctx, saved); err != nil {
			return nil, err
		}
		ctr = ctr.
			WithFile(path.Join(outDir, "tfplan"), saved.File("tfplan")).
			WithExec([]string{"sh", "-c", `terraform show -json "$1/tfplan" >"$1/plan.json" && terraform show -no-color "$1/tfplan" >"$1/plan.txt"`, "show", outDir})
	} else if ctr, err = r.planned(ctx, ctr); err != nil {
		return nil, err
	}
	p, err := r.judge(ctx, ctr, forceRecreate)
	if err != nil {
		return nil, err
	}
	res := &applyResult{plan: p}
	if p.decision.Verdict == gate.Block {
		return nil, fmt.Errorf("the safety gate blocked the %s apply; nothing was changed:\n- %s", r.env, strings.Join(p.decision.Reasons, "\n- "))
	}
	if !p.analysis.Counts.HasChanges() {
		return res, nil
	}
	if r.profile.BackupState {
		if res.backup, err = r.backup(ctx, ctr); err != nil {
			return nil, fmt.Errorf("state backup before the %s apply (nothing was changed): %w", r.env, err)
		}
	}
	applied, err := r.applied(ctx, ctr, p.planFile())
	if err != nil {
		if res.backup.file != nil {
			return nil, fmt.Errorf("%w\nthe state before this apply is backed up at %s: see restore-state", err, res.backup.key)
		}
		return nil, err
	}
	res.log = applied.File(path.Join(outDir, "apply.log"))
	return res, nil
}

// checkSavedPlan refuses a plan directory made for another environment: a saved plan
// carries its own backend settings, so applying a test plan with --env=prod would change
// test while the gate judged it as prod.
func (r *run) checkSavedPlan(ctx context.Context, saved *dagger.Directory) error {
	data, err := saved.File("result.json").Contents(ctx)
	if err != nil {
		return fmt.Errorf("--plan: read result.json of the plan directory (made by `plan --include-plan`): %w", err)
	}
	var res report.Result
	if err := json.Unmarshal([]byte(data), &res); err != nil {
		return fmt.Errorf("--plan: result.json of the plan directory: %w", err)
	}
	if res.Env != r.env {
		return fmt.Errorf("--plan holds a plan for %q, not %q: plan %s again and apply that", res.Env, r.env, r.env)
	}
	return nil
}

// report is the apply's directory.
func (a *applyResult) report(reproduce string) (*dagger.Directory, error) {
	summary, result, err := planReport(a.plan, a.plan.profile, "")
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString(summary)
	b.WriteString("\n## Apply\n\n")
	switch {
	case a.log == nil:
		b.WriteString("- Nothing to apply: the plan has no changes.\n")
	default:
		b.WriteString("- Applied the saved plan of this run.\n")
	}
	b.WriteString(a.backup.markdown())
	b.WriteString(footer(reproduce))
	dir := dag.Directory().
		WithNewFile("summary.md", b.String()).
		WithNewFile("result.json", result).
		WithNewFile("plan.txt", a.plan.text)
	if a.log != nil {
		dir = dir.WithFile("apply.log", a.log)
	}
	if a.backup.file != nil {
		dir = dir.WithFile(path.Join("backups", a.backup.backup.FileName()), a.backup.file)
	}
	return dir, nil
}

// planReport renders a plan's summary.md and result.json with ci/report.
func planReport(p *planRun, profile environment.Profile, reproduce string) (string, string, error) {
	res := report.NewResult(p.analysis, profile, p.decision)
	var js strings.Builder
	if err := res.WriteJSON(&js); err != nil {
		return "", "", fmt.Errorf("write result.json: %w", err)
	}
	return report.Markdown(res, reproduce), js.String(), nil
}
