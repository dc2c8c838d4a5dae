package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"sync"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/gitauth"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/stacks"
	"github.com/infrapipe/infrapipe/ci/state"
	"github.com/infrapipe/infrapipe/ci/tfversion"
)

const (
	// srcMount is where the repository sits in every container.
	srcMount = "/src"
	// outDir collects what a step hands back: plan files, reports, logs.
	outDir = "/out"
	// pluginCache is Terraform's provider plugin cache, a cache volume shared by all runs.
	pluginCache = "/terraform-plugin-cache"
)

// run is one call's view of an environment: its profile and, when emulating AWS, the
// started emulator.
type run struct {
	m       *Infra
	env     environment.Name
	profile environment.Profile
	// emulator is set only once the emulator is up, so every container binds the same
	// running instance: moto keeps its state in memory.
	emulator *dagger.Service

	// aws is what processAWS read from the engine once: the endpoint and the variables.
	awsMu sync.Mutex
	aws   *processEnv
	// prepare makes the emulator's state bucket once (bootstrapEmulator).
	prepare  sync.Once
	prepared error
	// code is the root module's files, and vars the checked variables files
	// (checkedVarFiles), read from the source once per run: every init and every plan of
	// the run needs them.
	code func() (map[string][]byte, error)
	vars func() (pipeline.VarFiles, error)
	// noWorkspace reads the configuration, local modules too, for terraform.workspace once
	// (state.CheckNoWorkspace).
	noWorkspace func() error
	// secretSrc is --tf-var-file's contents, read once ("" when not given), and masked
	// its values and --git-credentials' tokens (pipeline.SecretValues): the engine scrubs
	// them from every Terraform container's output, and every report is redacted.
	secretSrc string
	masked    []string
	// git is --git-credentials, read once.
	git gitauth.Credentials
	// image is the stack's Terraform image (terraformImage), read once, when a Terraform
	// container is first made: functions that run no Terraform (kpis, backups) never read it.
	image func() (string, error)
}

// warnOnce prints the constructor's warning once per call (each call is its own process).
var warnOnce sync.Once

// newRun resolves the environment through ci/environment (the built-in profiles with the
// repository's pipeline.yaml applied) and starts the AWS emulator when there is one.
func (m *Infra) newRun(ctx context.Context, env string) (*run, error) {
	name, profile, err := m.profile(ctx, env)
	if err != nil {
		return nil, err
	}
	warnOnce.Do(func() {
		// Here, not in New: the engine caches the constructor, whose output then never shows.
		if m.Warning != "" {
			fmt.Fprintf(os.Stderr, "warning: %s\n", m.Warning)
		}
		if m.OwnSource {
			fmt.Fprintln(os.Stderr, pipeline.OwnSourceNote)
		}
	})
	r := &run{m: m, env: name, profile: profile}
	r.code = sync.OnceValues(func() (map[string][]byte, error) { return m.rootModule(ctx) })
	r.image = sync.OnceValues(func() (string, error) { return m.terraformImage(ctx, r.code) })
	r.vars = sync.OnceValues(func() (pipeline.VarFiles, error) { return r.checkedVarFiles(ctx) })
	r.noWorkspace = sync.OnceValue(func() error {
		return state.CheckNoWorkspace(name, sourceTree{ctx: ctx, src: m.Source}, m.TerraformDir)
	})
	if r.secretSrc, err = plaintext(ctx, "tf-var-file", m.TfVarFile); err != nil {
		return nil, err
	}
	if r.git, err = readGitCredentials(ctx, m.GitCredentials); err != nil {
		return nil, err
	}
	r.masked = pipeline.SecretValues([]byte(r.secretSrc), r.git.Tokens...)
	emulator := m.Emulator
	if m.MotoImage != "" {
		emulator = motoService(m.MotoImage, r.masked)
	}
	if emulator != nil {
		if r.emulator, err = emulator.Start(ctx); err != nil {
			return nil, fmt.Errorf("start the AWS emulator: %w", err)
		}
	}
	return r, nil
}

// initializedRun is the start of every function that reads or changes an environment's
// state: the run, and its container after `terraform init` with the environment's backend.
func (m *Infra) initializedRun(ctx context.Context, env string) (*run, tfDir, error) {
	r, err := m.newRun(ctx, env)
	if err != nil {
		return nil, tfDir{}, err
	}
	d, err := r.initialized(ctx)
	return r, d, err
}

// profile is an environment's profile: the built-in defaults with pipeline.yaml applied.
func (m *Infra) profile(ctx context.Context, env string) (environment.Name, environment.Profile, error) {
	name, err := environment.ParseName(env)
	if err != nil {
		return "", environment.Profile{}, fmt.Errorf("--env: %w", err)
	}
	if err := m.checkTerraformDir(ctx); err != nil {
		return "", environment.Profile{}, err
	}
	cfg, err := m.config(ctx)
	if err != nil {
		return "", environment.Profile{}, err
	}
	profile, err := cfg.Profile(string(name))
	// Every step and summary reads the resources' region from the profile.
	profile.Region = profile.RegionOr(m.Region)
	return name, profile, err
}

// config is the stack's pipeline.yaml over the repository's root one, or the built-in
// profiles when there is none (ci/environment.LoadStack).
func (m *Infra) config(ctx context.Context) (environment.Config, error) {
	return environment.LoadStack(dirReader(ctx, m.Source), m.TerraformDir)
}

// checkTerraformDir refuses a --terraform-dir without Terraform files before any tool runs
// on it (pipeline.CheckTerraformDir).
func (m *Infra) checkTerraformDir(ctx context.Context) error {
	here, err := m.rootFiles(ctx)
	if err != nil {
		return err
	}
	return pipeline.CheckTerraformDir(m.TerraformDir, m.TerraformDirPicked, here, func() []string {
		// A repository whose stacks cannot be read offers the directories with .tf files.
		repo, _ := stacks.Discover(stackTree{sourceTree{ctx: ctx, src: m.Source}})
		return repo.Dirs()
	}, func() ([]string, error) {
		return m.Source.Glob(ctx, "**/*.tf")
	})
}

// rootFiles are the paths in the source of the root module's configuration files, those
// Terraform reads (changes.ConfigFiles: not .#main.tf, say).
func (m *Infra) rootFiles(ctx context.Context) ([]string, error) {
	return changes.ConfigFiles(sourceTree{ctx: ctx, src: m.Source}, m.TerraformDir)
}

// rootModule is the Terraform files of the root module (name → contents), as ci/ reads
// the configuration before any tool runs.
func (m *Infra) rootModule(ctx context.Context) (map[string][]byte, error) {
	return changes.Module(sourceTree{ctx: ctx, src: m.Source}, m.TerraformDir)
}

// tfDir is the Terraform directory inside containers.
func (m *Infra) tfDir() string { return path.Join(srcMount, m.TerraformDir) }

// onSource is a tool's image with the repository mounted and the Terraform directory as
// working directory, the image's entrypoint cleared so commands name their tool: every
// linter and scanner starts here.
func (m *Infra) onSource(image string) *dagger.Container {
	return dag.Container().
		From(image).
		WithoutEntrypoint().
		WithDirectory(srcMount, m.Source).
		WithWorkdir(m.tfDir())
}

// terraform is the Terraform image with the repository, the providers the configuration
// needs and its modules. It touches no state, so the engine may cache the providers'
// install; the remote modules are fetched again at every call (commands.UpdateModules), as a
// fresh checkout would fetch a module that follows a branch.
//
// Providers come from a cache volume kept between runs. Terraform's plugin cache is not safe
// for concurrent writers, so the volume is mounted with private sharing (an exec that finds
// it in use gets an instance of its own) for the one exec that installs providers (init
// without backend), and Terraform's symlinks into the cache are replaced by copies before
// the volume is unmounted; later execs (plan, apply, validate) run without it. Not locked
// sharing: a call cancelled during the install left the lock held in the engine, and every
// later run waited on it for ever (seen on the engine; tflint's and Trivy's caches alike).
func (m *Infra) terraform(image string, git gitauth.Credentials) *dagger.Container {
	return m.withGitCredentials(m.onSource(image), git).
		WithEnvVariable("TF_IN_AUTOMATION", "1").
		WithEnvVariable("TF_INPUT", "0").
		WithEnvVariable("CHECKPOINT_DISABLE", "1").
		WithMountedCache(pluginCache, dag.CacheVolume("infrapipe-terraform-plugins"), dagger.ContainerWithMountedCacheOpts{
			Sharing: dagger.CacheSharingModePrivate,
		}).
		WithEnvVariable("TF_PLUGIN_CACHE_DIR", pluginCache).
		WithExec(commands.InstallProviders()).
		WithoutEnvVariable("TF_PLUGIN_CACHE_DIR").
		WithoutMount(pluginCache).
		WithEnvVariable("CACHEBUSTER", cacheBuster()).
		WithExec(commands.UpdateModules())
}

// terraformImage is the stack's Terraform image (tfversion.Pick: the constructor's options,
// else the repository's pin, else the default's; code reads the root module, which a run
// reads once). A pinned version is said on the log, where a failed pull of its image shows.
func (m *Infra) terraformImage(ctx context.Context, code func() (map[string][]byte, error)) (string, error) {
	c, err := tfversion.Pick(m.TerraformImage, dirReader(ctx, m.Source), m.TerraformDir, code, pipeline.Defaults.TerraformVersion)
	if c.Pin != nil {
		fmt.Fprintf(os.Stderr, "Terraform %s, as %s pins it\n", c.Pin.Version, c.Pin.Source)
	}
	return c.Image, err
}

// gitCredentialsFile is where --git-credentials is mounted: a secret mount, never a layer.
const gitCredentialsFile = "/run/secrets/infrapipe/git-credentials"

// withGitCredentials gives git in ctr --git-credentials (git, as readGitCredentials read
// them; ci/gitauth.Env), when given, for Terraform's module downloads.
func (m *Infra) withGitCredentials(ctr *dagger.Container, git gitauth.Credentials) *dagger.Container {
	if m.GitCredentials == nil {
		return ctr
	}
	ctr = ctr.WithMountedSecret(gitCredentialsFile, m.GitCredentials)
	for _, v := range gitauth.Env(gitCredentialsFile, git.Sites) {
		ctr = ctr.WithEnvVariable(v.Name, v.Value)
	}
	return ctr
}

// readGitCredentials reads and checks --git-credentials (ci/gitauth); zero when not given.
func readGitCredentials(ctx context.Context, s *dagger.Secret) (gitauth.Credentials, error) {
	text, err := plaintext(ctx, "git-credentials", s)
	if err != nil || s == nil {
		return gitauth.Credentials{}, err
	}
	return gitauth.Parse(text)
}

// container is the Terraform container of this run: credentials, region, the emulator when
// there is one, and a cache buster, so nothing after it is ever served from an old run.
func (r *run) container(image string) *dagger.Container {
	ctr := r.m.terraform(image, r.git).
		WithEnvVariable("AWS_REGION", r.region()).
		WithEnvVariable("AWS_DEFAULT_REGION", r.region()).
		// The example stack's provider region; a variables file still wins, and
		// configurations without the variable ignore it.
		WithEnvVariable("TF_VAR_aws_region", r.region())
	ctr = r.withAWS(ctr)
	if r.m.TfVarFile != nil {
		ctr = ctr.WithMountedSecret(secretVarFile, r.m.TfVarFile)
	}
	// Each value of the secret file, scrubbed wherever Terraform shows it in clear.
	return withMasked(ctr, r.masked).WithEnvVariable("CACHEBUSTER", cacheBuster())
}

// cacheBuster differs on every call: set as an environment variable before an exec, it
// keeps the engine from serving that exec from an earlier run.
func cacheBuster() string { return time.Now().UTC().Format(time.RFC3339Nano) }

// region is where the environment's resources live: pipeline.yaml's region, else --region
// (profile). The backend's region is the state bucket's only.
func (r *run) region() string { return r.profile.Region }

// initialized is the run's container after `terraform init` with the environment's backend,
// which ci/state checks before (PrepareInit) and after (CheckInitializedBackend): a prod run
// pointed at another environment's state never reaches init. Against an emulator, the
// stack's aws providers get the settings it needs (pipeline.EmulatorOverride).
func (r *run) initialized(ctx context.Context) (tfDir, error) {
	code, err := r.code()
	if err != nil {
		return tfDir{}, err
	}
	backendFile := path.Join("/tmp", string(r.env)+".tfbackend")
	init, err := state.PrepareInit(r.env, r.profile.Backend, code, dirReader(ctx, r.m.Source), r.m.TerraformDir, backendFile, r.endpoints())
	if err != nil {
		return tfDir{}, err
	}
	if err := r.bootstrapEmulator(ctx); err != nil {
		return tfDir{}, err
	}
	image, err := r.image()
	if err != nil {
		return tfDir{}, err
	}
	ctr := r.container(image).WithNewFile(backendFile, init.Backend)
	if override, ok := pipeline.EmulatorOverride(code); ok && r.emulator != nil {
		ctr = ctr.WithNewFile(path.Join(r.m.tfDir(), pipeline.EmulatorOverrideFile), override)
	}
	if ctr, err = r.exec(ctx, ctr, "terraform init", append([]string{"terraform"}, init.Args...)); err != nil {
		return tfDir{}, err
	}
	// Terraform's record of the backend it set up; absent when the configuration has none.
	record, _, err := dirReader(ctx, ctr.Directory(r.m.tfDir()))(".terraform/terraform.tfstate")
	if err != nil {
		return tfDir{}, fmt.Errorf("read the backend terraform init set up: %w", err)
	}
	return tfDir{r: r, ctr: ctr}, state.CheckInitializedBackend(r.env, record)
}

// exec runs one command that must succeed; ci/pipeline.StepFailed words a failure, its
// output masked, and a held state lock gets this module's force-unlock and import lines
// (lockHelp).
func (r *run) exec(ctx context.Context, ctr *dagger.Container, step string, args []string) (*dagger.Container, error) {
	res, err := execAny(ctx, ctr, args)
	if err != nil {
		// The output of an earlier exec (the install in terraform()) may quote a secret.
		return nil, pipeline.NotRun(step, r.env, pipeline.Redact(err.Error(), r.masked))
	}
	if res.code == 0 {
		return res.ctr, nil
	}
	output := pipeline.Redact(res.output(), r.masked)
	return nil, r.lockHelp(pipeline.StepFailed(step, r.env, res.code, output, r.profile.LockTimeout, time.Now()))
}

// lockHelp points a held-lock error at this module's force-unlock and import lines, so the
// reader recovers without initialising Terraform by hand.
func (r *run) lockHelp(err error) error {
	var lockErr *state.LockError
	if errors.As(err, &lockErr) {
		lockErr.Unlock = r.call("force-unlock").Flag("lock-id", lockErr.Lock.ID).String()
		lockErr.Import = r.importLine("").String()
	}
	return err
}

// ran is a finished command whose exit code is part of the answer (terraform fmt -check,
// plan -detailed-exitcode, terraform-compliance), not only success or failure.
type ran struct {
	ctr            *dagger.Container
	code           int
	stdout, stderr string
}

// output is stdout then stderr, for error messages and tools that mix them.
func (r ran) output() string { return r.stdout + "\n" + r.stderr }

// execAny runs a command that may exit non-zero and returns its exit code and output; an
// error means the command could not run at all. opts are Dagger's, e.g. UseEntrypoint for
// images whose entrypoint is the tool.
func execAny(ctx context.Context, ctr *dagger.Container, args []string, opts ...dagger.ContainerWithExecOpts) (ran, error) {
	var o dagger.ContainerWithExecOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Expect = dagger.ReturnTypeAny
	ctr = ctr.WithExec(args, o)
	res := ran{ctr: ctr}
	var err error
	if res.code, err = ctr.ExitCode(ctx); err != nil {
		return ran{}, execFailure(err)
	}
	if res.stdout, err = ctr.Stdout(ctx); err != nil {
		return ran{}, execFailure(err)
	}
	if res.stderr, err = ctr.Stderr(ctx); err != nil {
		return ran{}, execFailure(err)
	}
	return res, nil
}

// execFailure is the error of a container whose set-up failed before the command (the
// provider install of terraform(), say), worded by pipeline.SetupFailed from what that exec
// printed. It does not wrap the engine's error, which the engine would print instead.
func execFailure(err error) error {
	var ee *dagger.ExecError
	if !errors.As(err, &ee) {
		return err
	}
	return pipeline.SetupFailed(ee.Cmd, ee.ExitCode, ee.Stdout, ee.Stderr)
}

// execQuiet is execAny for commands whose output can hold secrets (terraform output -json
// prints sensitive values in clear text): nothing of it reaches the progress stream.
func execQuiet(ctx context.Context, ctr *dagger.Container, args []string) (ran, error) {
	const dir = "/tmp/infrapipe-quiet"
	ctr = ctr.WithExec(commands.Quiet(dir, args...))
	code, stdout, stderr, err := commands.ReadQuiet(args[0], func(name string) (string, error) {
		return ctr.File(path.Join(dir, name)).Contents(ctx)
	})
	return ran{ctr: ctr, code: code, stdout: stdout, stderr: stderr}, err
}

// call starts the reproduce line of fn for this run.
func (r *run) call(fn string) pipeline.Command { return r.m.envCall(fn, string(r.env)) }

// envCall starts the reproduce line of a function on an environment: the constructor's
// options with the credentials given, named as environment variables, never shown, then the
// environment. Functions make it before anything can fail, so every error ends with it.
func (m *Infra) envCall(fn, env string) pipeline.Command {
	c := m.call(fn)
	for _, s := range m.awsSecrets() {
		c = c.SecretOption(s.flag, true, s.name)
	}
	return c.Flag("env", env)
}

// announce prints the line that replays this call to the call's log before anything runs
// (pipeline.Command.Announcement).
func (m *Infra) announce(c pipeline.Command) {
	fmt.Fprint(os.Stderr, c.Announcement(m.emulated()))
}
