package main

// How the module reaches AWS: the caller's credentials or an AWS emulator, from containers
// (providers, backend) and from this module's own process (state bucket, discovery, live
// checks).

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/state"
)

// given is the secret of flag --name, or nil when the caller left it empty: a workflow
// passes env:INFRACOST_API_KEY whether or not the repository holds that secret (GitHub sets
// the variable to ""), and an empty secret means what a missing flag means, rather than a
// branch in the workflow's shell. checks, when given, refuse a value before anything runs
// (a ci/ parser), from the same read.
func given(ctx context.Context, name string, s *dagger.Secret, checks ...func(string) error) (*dagger.Secret, error) {
	v, err := plaintext(ctx, name, s)
	if err != nil || v == "" {
		return nil, err
	}
	for _, check := range checks {
		if err := check(v); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// plaintext is the value of the secret of flag --name, "" when it was not given.
func plaintext(ctx context.Context, name string, s *dagger.Secret) (string, error) {
	if s == nil {
		return "", nil
	}
	v, err := s.Plaintext(ctx)
	if err != nil {
		return "", fmt.Errorf("read --%s: %w", name, err)
	}
	return v, nil
}

const (
	// emulatorAlias is the host name every container reaches the AWS emulator under.
	emulatorAlias = "aws"
	// emulatorKey is the access key ID and secret key given to the emulator, which takes any.
	emulatorKey = "test"
)

// motoService is moto_server on port 5000. It holds state in memory, so one `dagger call`
// sees one emulated account from start to end. Its request log shows request paths, which
// hold what a stack names its resources with: masked (the secret values of the call,
// pipeline.SecretValues) are given to it as secrets, which the engine scrubs from its output
// as from every Terraform container's.
func motoService(image string, masked []string) *dagger.Service {
	return withMasked(dag.Container().From(image), masked).
		WithExposedPort(pipeline.Defaults.AWSEmulatorPort).
		AsService(dagger.ContainerAsServiceOpts{UseEntrypoint: true})
}

// withMasked gives ctr each of masked as a secret variable of its own, which the engine
// scrubs from the output wherever the container prints it in clear (a mounted secret file
// it scrubs only whole). Names are random: a hash of a value would be a clue to it.
func withMasked(ctr *dagger.Container, masked []string) *dagger.Container {
	nonce := cacheBuster()
	for i, v := range masked {
		ctr = ctr.WithSecretVariable(fmt.Sprintf("INFRAPIPE_MASKED_%d", i), dag.SetSecret(fmt.Sprintf("infrapipe-masked-%d-%s", i, nonce), v))
	}
	return ctr
}

// withAWS gives a container the run's AWS access: the emulator (bound as host "aws", with
// fake credentials, and the example stack's aws_endpoint variable) or the caller's secrets.
func (r *run) withAWS(ctr *dagger.Container) *dagger.Container {
	if r.emulator != nil {
		return ctr.
			WithServiceBinding(emulatorAlias, r.emulator).
			WithEnvVariable("AWS_ENDPOINT_URL", r.emulatorURL()).
			WithEnvVariable("TF_VAR_aws_endpoint", r.emulatorURL()).
			WithEnvVariable("AWS_ACCESS_KEY_ID", emulatorKey).
			WithEnvVariable("AWS_SECRET_ACCESS_KEY", emulatorKey)
	}
	for _, s := range r.m.awsSecrets() {
		ctr = ctr.WithSecretVariable(s.name, s.secret)
	}
	return ctr
}

// envSecret is a secret, the environment variable it is given as and its flag.
type envSecret struct {
	name, flag string
	secret     *dagger.Secret
}

// awsSecrets are the caller's AWS credentials that were given, as AWS's variables.
func (m *Infra) awsSecrets() []envSecret {
	var out []envSecret
	for _, s := range []envSecret{
		{"AWS_ACCESS_KEY_ID", "aws-access-key-id", m.AwsAccessKeyID},
		{"AWS_SECRET_ACCESS_KEY", "aws-secret-access-key", m.AwsSecretAccessKey},
		{"AWS_SESSION_TOKEN", "aws-session-token", m.AwsSessionToken},
	} {
		if s.secret != nil {
			out = append(out, s)
		}
	}
	return out
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

// bootstrapEmulator prepares the emulated account for the environment's backend once per
// run: ci/state creates the versioned state bucket and the lock table, from this module's
// own process. On real AWS the bucket is the user's to create.
func (r *run) bootstrapEmulator(ctx context.Context) error {
	if r.emulator == nil {
		return nil
	}
	r.prepare.Do(func() {
		endpoint, err := r.processAWS(ctx)
		if err == nil {
			err = state.PrepareEmulator(ctx, endpoint, r.profile.Backend)
		}
		r.prepared = err
	})
	return r.prepared
}

// stateBucket is an S3 client for the state bucket as this module's own process reaches it.
// A fresh emulator gets its bucket first, so that backups and kpis find an empty bucket
// rather than none.
func (r *run) stateBucket(ctx context.Context) (*s3.Client, error) {
	if err := r.bootstrapEmulator(ctx); err != nil {
		return nil, err
	}
	endpoint, err := r.processAWS(ctx)
	if err != nil {
		return nil, err
	}
	return state.NewS3Client(ctx, r.profile.Backend.Region, endpoint)
}

// processEnv is the AWS endpoint and environment variables of this module's own process.
type processEnv struct {
	endpoint string
	vars     map[string]string
}

// processAWS prepares this module's own process to call AWS (state backups, discovery) and
// returns the endpoint to use: the emulator's (module code resolves service host names), or
// "" for AWS with the caller's credentials. The credentials go to this call's process
// environment only; every function call runs in its own process. They are read from the
// engine once per run (backups, stored plans, run records and discovery all come here) and
// set again on every call, as another environment's run in the same call (kpis) may have
// set its own region.
func (r *run) processAWS(ctx context.Context) (string, error) {
	r.awsMu.Lock()
	defer r.awsMu.Unlock()
	if r.aws == nil {
		env, err := r.readProcessEnv(ctx)
		if err != nil {
			return "", err
		}
		r.aws = env
	}
	for name, v := range r.aws.vars {
		if err := os.Setenv(name, v); err != nil {
			return "", fmt.Errorf("set %s: %w", name, err)
		}
	}
	return r.aws.endpoint, nil
}

// readProcessEnv reads the emulator's endpoint, or the caller's credentials, from the
// engine.
func (r *run) readProcessEnv(ctx context.Context) (*processEnv, error) {
	env := &processEnv{vars: map[string]string{"AWS_REGION": r.region()}}
	if r.emulator != nil {
		endpoint, err := r.emulator.Endpoint(ctx, dagger.ServiceEndpointOpts{Port: r.m.EmulatorPort, Scheme: "http"})
		if err != nil {
			return nil, fmt.Errorf("AWS emulator endpoint: %w", err)
		}
		env.endpoint, env.vars["AWS_ACCESS_KEY_ID"], env.vars["AWS_SECRET_ACCESS_KEY"] = endpoint, emulatorKey, emulatorKey
		return env, nil
	}
	for _, s := range r.m.awsSecrets() {
		v, err := s.secret.Plaintext(ctx)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.name, err)
		}
		env.vars[s.name] = v
	}
	return env, nil
}
