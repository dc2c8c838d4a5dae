package main

import (
	"context"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/pipeline"
)

// Cost plans the environment, estimates the plan's monthly cost with Infracost and compares
// it with the environment's budget (pipeline.yaml). It returns the cost report as Markdown:
// the monthly total and the monthly change against the budget, and the largest cost
// changes. It fails over budget. Without an API key the cost is "not evaluated", which fails
// only where the profile requires an estimate (prod).
//
// +cache="never"
func (m *Infra) Cost(
	ctx context.Context,
	// Environment: preview, test, staging or prod.
	env string,
	// Infracost API key, e.g. env:INFRACOST_API_KEY.
	// +optional
	infracostApiKey *dagger.Secret,
) (string, error) {
	infracostApiKey, err := given(ctx, "infracost-api-key", infracostApiKey)
	if err != nil {
		return "", err
	}
	reproduce := m.envCall("cost", env).Secret("infracost-api-key", infracostApiKey != nil, "INFRACOST_API_KEY")
	r, p, err := m.plannedRun(ctx, env, false)
	if err != nil {
		return "", reproduce.Wrap(err)
	}
	est, err := r.cost(ctx, p.Dir.file("plan.json"), infracostApiKey)
	if err != nil {
		return "", reproduce.Wrap(err)
	}
	return est.Summary(reproduce)
}

// cost runs `infracost breakdown` on the plan JSON in Infracost's image and evaluates the
// estimate against the budget with ci/cost. The API key reaches the container only as a
// secret variable. When Infracost cannot run (its image missing, a crash) there is no
// estimate, and the failure is returned for ci/pipeline to judge by the profile.
func (r *run) cost(ctx context.Context, planJSON *dagger.File, apiKey *dagger.Secret) (pipeline.Estimate, error) {
	if apiKey == nil {
		return pipeline.NoEstimate(r.profile), nil
	}
	out, err := dag.Container().
		From(r.m.InfracostImage).
		WithoutEntrypoint().
		WithSecretVariable("INFRACOST_API_KEY", apiKey).
		WithEnvVariable("INFRACOST_SKIP_UPDATE_CHECK", "true").
		WithFile("/input/plan.json", planJSON).
		WithEnvVariable("CACHEBUSTER", cacheBuster()).
		WithExec([]string{"infracost", "breakdown", "--path", "/input/plan.json", "--format", "json", "--out-file", "/tmp/infracost.json"}).
		File("/tmp/infracost.json").
		Contents(ctx)
	return pipeline.EstimateCost(r.profile, []byte(out), err, pipeline.Tool{Name: "infracost", Image: r.m.InfracostImage, Flag: "infracost-image"})
}
