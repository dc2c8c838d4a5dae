// Infra is the CI/CD pipeline of a Terraform repository: lint, security scan, compliance,
// cost, plan, import, apply, post-deploy tests, state backup and drift, each running the real
// tool in its own container. Every decision (which checks an environment runs, what blocks a
// plan, what a finding means) is made by the Go packages in ci/, which this module calls.
//
// Start with "dagger call --emulate-aws pipeline --env=test": the whole test pipeline on the
// example stack against a local AWS emulator, with no cloud account.
package main

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/changes"
	"github.com/infrapipe/infrapipe/ci/gitauth"
	"github.com/infrapipe/infrapipe/ci/pipeline"
)

// Infra holds the repository, the tool images and the AWS emulator; functions take the
// environment.
type Infra struct {
	// +private
	Source *dagger.Directory
	// +private
	TerraformDir string
	// Whether TerraformDir was picked, no --terraform-dir having been given.
	// +private
	TerraformDirPicked bool
	// Whether the source is this module's own repository (readSource).
	// +private
	OwnSource bool
	// The image --terraform-image or --terraform-version names; "" leaves it to the stack
	// (terraformImage).
	// +private
	TerraformImage string
	// +private
	TflintImage string
	// +private
	CheckovImage string
	// +private
	TrivyImage string
	// +private
	OpaImage string
	// +private
	InfracostImage string
	// +private
	ComplianceImage string
	// +private
	Region string
	// Terraform variables that must not live in the repository, as a tfvars file.
	// +private
	TfVarFile *dagger.Secret
	// git's credentials for private module sources.
	// +private
	GitCredentials *dagger.Secret
	// The caller's AWS credentials, for every function that reaches AWS.
	// +private
	AwsAccessKeyID *dagger.Secret
	// +private
	AwsSecretAccessKey *dagger.Secret
	// +private
	AwsSessionToken *dagger.Secret
	// The AWS API emulator the providers, the backend and discovery use (--aws-emulator);
	// nil for real AWS, and for moto, which each run starts (MotoImage).
	// +private
	Emulator *dagger.Service
	// The moto image --emulate-aws starts, "" without it: each run starts it with the run's
	// secret values (motoService), never the constructor, whose result the engine caches.
	// +private
	MotoImage string
	// +private
	EmulatorPort int
	// The words of reproduce lines before the function: how the module is reached from
	// the source (pipeline.Invocation), then the constructor options that differ from the
	// defaults.
	// +private
	Options []string
	// What the caller should know of options that do nothing (pipeline.Setup.Warning).
	// +private
	Warning string
}

// New configures the pipeline: which repository and Terraform directory, which tool images,
// which region, and whether to run against an AWS emulator instead of AWS. Every image is
// pinned; override one with its *-image option, e.g. to pull from a registry mirror.
func New(
	ctx context.Context,
	// The repository holding the Terraform code. Defaults to the repository the module is
	// used in: its own, or one that installs it as its blueprint or a toolchain; named with
	// -m, pass --source=. (ignored: .git, .terraform, state and plan files).
	// +defaultPath="/"
	// +ignore=[".git", "**/.terraform", "**/*.tfstate", "**/*.tfstate.*", "**/*.tfstate.backup", "**/tfplan", "**/*.tfplan", "**/crash.log", "**/.terraform.tfstate.lock.info", "reports", "test-results"]
	source *dagger.Directory,
	// Directory of the Terraform root module inside source; pipeline.yaml (over the
	// repository root's, if any), policies/ (Rego and terraform-compliance .feature files)
	// and suppressions.yaml live next to it. Default: terraform when it has Terraform files,
	// else the source's root when that has them.
	// +optional
	terraformDir string,
	// Terraform version, e.g. 1.9.8; picks the image hashicorp/terraform:<version>. Default:
	// the version the repository pins in .terraform-version (tfenv's and tfswitch's file,
	// the nearest one from the Terraform directory up), else the one version the stack's
	// required_version allows, if it allows one, else 1.11.4.
	// +optional
	terraformVersion string,
	// Terraform image, when not hashicorp/terraform:<version>; it replaces that image, so
	// give one of --terraform-image and --terraform-version.
	// +optional
	terraformImage string,
	// tflint image.
	// +default="ghcr.io/terraform-linters/tflint:v0.64.0"
	tflintImage string,
	// Checkov image.
	// +default="bridgecrew/checkov:3.2.524"
	checkovImage string,
	// Trivy image.
	// +default="aquasec/trivy:0.74.0"
	trivyImage string,
	// OPA image; runs the built-in policy pack and your Rego policies.
	// +default="openpolicyagent/opa:1.15.2"
	opaImage string,
	// Infracost image (the CI image, which has a shell).
	// +default="infracost/infracost:ci-0.10"
	infracostImage string,
	// terraform-compliance image; used when the repository has .feature files.
	// +default="eerkunt/terraform-compliance:1.3.32"
	terraformComplianceImage string,
	// moto image, started by --emulate-aws.
	// +default="motoserver/moto:5.1.22"
	motoImage string,
	// AWS region of the resources: the providers' default, discovery and post-deploy checks,
	// where pipeline.yaml sets no region for the environment. The state bucket's region is
	// its backend's.
	// +default="us-east-1"
	region string,
	// Start an AWS emulator (moto) and point the providers, the state backend and discovery at
	// it: a first run needs no cloud account.
	// +optional
	emulateAws bool,
	// An AWS API emulator you already run (moto or LocalStack), used like --emulate-aws.
	// +optional
	awsEmulator *dagger.Service,
	// Port of --aws-emulator.
	// +default=5000
	awsEmulatorPort int,
	// Terraform variables that must not live in the repository (passwords, tokens), as a
	// tfvars file passed as a secret, e.g. env:SECRET_TFVARS or file:./secret.tfvars. Plan,
	// post-deploy tests and drift read it after the environment's own variables file;
	// declare those variables sensitive so Terraform masks them in plans.
	// +optional
	tfVarFile *dagger.Secret,
	// Tokens for private module sources that Terraform fetches with git, in git's
	// credential-store format: one https://<user>:<token>@<host> a line, e.g.
	// env:GIT_CREDENTIALS holding https://x-access-token:<token>@github.com. The ssh sources
	// of those hosts are fetched over HTTPS with the same token (the containers hold no SSH
	// key); the tokens are masked like --tf-var-file's values.
	// +optional
	gitCredentials *dagger.Secret,
	// AWS access key ID, e.g. env:AWS_ACCESS_KEY_ID. Credentials reach containers only as
	// secret variables; an empty one counts as not given.
	// +optional
	awsAccessKeyID *dagger.Secret,
	// AWS secret access key, e.g. env:AWS_SECRET_ACCESS_KEY.
	// +optional
	awsSecretAccessKey *dagger.Secret,
	// AWS session token, e.g. env:AWS_SESSION_TOKEN.
	// +optional
	awsSessionToken *dagger.Secret,
) (*Infra, error) {
	// An empty credential counts as not given (see given), for every function alike.
	var err error
	if awsAccessKeyID, err = given(ctx, "aws-access-key-id", awsAccessKeyID); err != nil {
		return nil, err
	}
	if awsSecretAccessKey, err = given(ctx, "aws-secret-access-key", awsSecretAccessKey); err != nil {
		return nil, err
	}
	if awsSessionToken, err = given(ctx, "aws-session-token", awsSessionToken); err != nil {
		return nil, err
	}
	// Checked now, so that a bad line fails before anything runs.
	if gitCredentials, err = given(ctx, "git-credentials", gitCredentials, func(plain string) error {
		_, err := gitauth.Parse(plain)
		return err
	}); err != nil {
		return nil, err
	}
	var ports []int
	var tfVarFileRef, gitCredentialsRef string
	if source != nil { // nil: New called by the module's tests, with no engine (readSource)
		if ports, err = servicePorts(ctx, awsEmulator); err != nil {
			return nil, err
		}
		if tfVarFileRef, err = secretURI(ctx, tfVarFile); err != nil {
			return nil, err
		}
		if gitCredentialsRef, err = secretURI(ctx, gitCredentials); err != nil {
			return nil, err
		}
	}
	setup, err := pipeline.Configure(pipeline.Settings{
		TerraformDir: terraformDir, TerraformVersion: terraformVersion, TerraformImage: terraformImage,
		TflintImage: tflintImage, CheckovImage: checkovImage, TrivyImage: trivyImage, OpaImage: opaImage,
		InfracostImage: infracostImage, ComplianceImage: terraformComplianceImage, MotoImage: motoImage,
		Region: region, EmulateAWS: emulateAws, AWSEmulator: awsEmulator != nil, TfVarFile: tfVarFile != nil,
		GitCredentials: gitCredentials != nil, AWSEmulatorPort: awsEmulatorPort, AWSEmulatorPorts: ports,
		TfVarFileRef: tfVarFileRef, GitCredentialsRef: gitCredentialsRef, AWSAccessKeyID: awsAccessKeyID != nil, AWSSecretAccessKey: awsSecretAccessKey != nil,
	}, pipeline.Defaults)
	if err != nil {
		return nil, err
	}
	reach, dir, own, err := readSource(ctx, source, setup.TerraformDir)
	if err != nil {
		return nil, err
	}
	m := &Infra{
		Source:             source,
		TerraformDir:       dir,
		TerraformDirPicked: setup.TerraformDir == "",
		OwnSource:          own,
		TerraformImage:     setup.TerraformImage,
		TflintImage:        tflintImage,
		CheckovImage:       checkovImage,
		TrivyImage:         trivyImage,
		OpaImage:           opaImage,
		InfracostImage:     infracostImage,
		ComplianceImage:    terraformComplianceImage,
		Region:             region,
		TfVarFile:          tfVarFile,
		GitCredentials:     gitCredentials,
		EmulatorPort:       setup.EmulatorPort,
		Options:            append(reach, setup.Options...),
		Warning:            setup.Warning,

		AwsAccessKeyID:     awsAccessKeyID,
		AwsSecretAccessKey: awsSecretAccessKey,
		AwsSessionToken:    awsSessionToken,
	}
	switch setup.Emulator {
	case pipeline.GivenEmulator:
		m.Emulator = awsEmulator
	case pipeline.StartMoto:
		m.MotoImage = motoImage
	}
	return m, nil
}

// emulated reports whether the calls reach an emulator rather than AWS.
func (m *Infra) emulated() bool { return m.Emulator != nil || m.MotoImage != "" }

// servicePorts are the ports svc exposes (--aws-emulator's: the one its tcp://host:port
// names), nil without a service.
func servicePorts(ctx context.Context, svc *dagger.Service) ([]int, error) {
	if svc == nil {
		return nil, nil
	}
	ports, err := svc.Ports(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the ports of --aws-emulator: %w", err)
	}
	out := make([]int, 0, len(ports))
	for _, p := range ports {
		n, err := p.Port(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the ports of --aws-emulator: %w", err)
		}
		out = append(out, n)
	}
	return out, nil
}

// secretURI is where the caller's secret comes from (env://NAME), for reproduce lines to
// name it as the caller did; "" for none, or one made in code.
func secretURI(ctx context.Context, s *dagger.Secret) (string, error) {
	if s == nil {
		return "", nil
	}
	uri, err := s.URI(ctx)
	if err != nil {
		return "", fmt.Errorf("read where a secret comes from: %w", err)
	}
	return uri, nil
}

// readSource is what New reads of the source before any function runs: how a line pasted
// at its root reaches this module (pipeline.Invocation, from the name the engine gives this
// module and the source's dagger.json), the Terraform directory when --terraform-dir was not
// given (pipeline.PickTerraformDir), and whether the source is this module's own repository.
// New called from Go, by the module's tests, has no source and no engine: no words, and
// terraform/.
func readSource(ctx context.Context, source *dagger.Directory, dir string) (reach []string, terraformDir string, own bool, err error) {
	if source == nil {
		return nil, cmp.Or(dir, pipeline.Defaults.TerraformDir), false, nil
	}
	if dir == "" {
		tree := sourceTree{ctx: ctx, src: source}
		if dir, err = pipeline.PickTerraformDir(func(d string) (bool, error) {
			files, err := changes.ConfigFiles(tree, d)
			return len(files) > 0, err
		}); err != nil {
			return nil, "", false, err
		}
	}
	module, err := dag.CurrentModule().Name(ctx)
	if err != nil {
		return nil, "", false, fmt.Errorf("read the module's name: %w", err)
	}
	read := dirReader(ctx, source)
	config, _, err := read("dagger.json")
	if err != nil {
		return nil, "", false, fmt.Errorf("read dagger.json of --source: %w", err)
	}
	// The source is this repository when it holds the running module's own code: a name
	// alone (infra) could be a repository's own module's.
	code, _, err := read(".dagger/main.go")
	if err != nil {
		return nil, "", false, fmt.Errorf("read .dagger/main.go of --source: %w", err)
	}
	ours, err := dag.CurrentModule().Source().File("main.go").Contents(ctx)
	if err != nil {
		return nil, "", false, fmt.Errorf("read the module's main.go: %w", err)
	}
	own = code != nil && string(code) == ours
	return pipeline.Invocation(module, config, own), dir, own, nil
}

// call starts the `dagger call` line that reruns fn with this call's constructor options;
// every summary ends with one.
func (m *Infra) call(fn string) pipeline.Command { return pipeline.Call(m.Options, fn) }

// now is the run's clock: suppressions' expiry dates, backups', restores' and imports'
// times.
func now() time.Time { return time.Now().UTC() }
