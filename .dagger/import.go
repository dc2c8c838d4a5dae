package main

import (
	"context"
	"path"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/importer"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/workdir"
)

// Import adopts resources that already exist instead of letting Terraform create duplicates:
// it finds the environment's resources by their project and environment tags
// (ci/discovery), maps each to the configuration resource that would create it
// (ci/importer; missing or ambiguous matches are reported, never guessed), writes imports.tf
// (Terraform import blocks) and plans them in one plan, targeted at the imported addresses.
// Without --dry-run it applies that plan through the safety gate (with a state backup first
// where the profile asks for one). Resources already in state are skipped, so a re-run
// changes nothing, unless --force re-imports them (after a state backup). Returns
// import-report.md and import-report.json, with imports.tf and plan.txt when something was
// to import; fails if an import or the plan with the import blocks failed, and the error
// then holds import-report.md.
//
// +cache="never"
func (m *Infra) Import(
	ctx context.Context,
	// Environment: test, staging or prod. Preview never imports (ephemeral).
	env string,
	// Value of the project tag to look for, e.g. myproject.
	project string,
	// Show what would be imported; change nothing.
	// +optional
	dryRun bool,
	// Import again resources already in state: the state is backed up, then they are removed
	// from state and imported in the same plan.
	// +optional
	force bool,
	// Also import discovered resources that have no configuration, into generated addresses,
	// writing their configuration to generated.tf (terraform plan -generate-config-out):
	// review it and move it into your code.
	// +optional
	generateConfig bool,
) (*dagger.Directory, error) {
	started := time.Now()
	reproduce := m.envCall("import", env).Flag("project", project).Bool("dry-run", dryRun).Bool("force", force).Bool("generate-config", generateConfig)
	r, err := m.newRun(ctx, env)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	mapped, imported, err := r.importResources(ctx, project, dryRun, force, generateConfig)
	note := r.keepRecord(ctx, pipeline.ImportFacts(started, time.Now(), dryRun, err, reproduce)).Markdown()
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	files, err := mapped.Report(string(r.env), dryRun).Files(imported.Text, imported.StateLines(), note, reproduce.Markdown())
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	out, err := r.reportDir(ctx, files...)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	if imported.Planned && mapped.Plan.GenerateConfigOut {
		out = out.WithFile(importer.GeneratedFile, imported.Dir.ctr.File(path.Join(m.tfDir(), importer.GeneratedFile)))
	}
	return out, nil
}

// importResources is Import's story: map what discovery found onto the plan (mapImports,
// ci/workdir.Map), then ci/workdir.Import backs up and removes what --force re-imports, plans
// the imports and applies that plan through the gate unless dryRun.
func (r *run) importResources(ctx context.Context, project string, dryRun, force, generateConfig bool) (*workdir.Mapping, workdir.Imported[tfDir], error) {
	var none workdir.Imported[tfDir]
	if err := importer.CheckEnabled(r.env, r.profile); err != nil {
		return nil, none, err
	}
	opts := importer.OptionsFor(r.profile)
	opts.Force, opts.GenerateConfig = force, generateConfig
	d, e, mapped, err := r.mapImports(ctx, project, opts)
	if err != nil {
		return nil, none, err
	}
	imported, err := workdir.Import(ctx, d, e, mapped, dryRun, r.restoreLine, now())
	return mapped, imported, err
}

// restoreLine is the call that puts back the state backed up at key.
func (r *run) restoreLine(key string) string {
	return r.call("restore-state").Flag("from", key).Bool("confirm", true).String()
}

// mapImports maps the environment's tagged resources onto the configuration
// (ci/workdir.Map) in an initialized container, which it returns without the plan files.
func (r *run) mapImports(ctx context.Context, project string, opts importer.Options) (tfDir, workdir.Env, *workdir.Mapping, error) {
	if err := importer.CheckProject(project, r.profile); err != nil {
		return tfDir{}, workdir.Env{}, nil, err
	}
	d, e, err := r.planning(ctx)
	if err != nil {
		return tfDir{}, workdir.Env{}, nil, err
	}
	req, err := r.importRequest(ctx, project, opts)
	if err != nil {
		return tfDir{}, workdir.Env{}, nil, err
	}
	mapped, err := workdir.Map(ctx, d, e, req)
	return d, e, mapped, err
}

// importRequest discovers from this module's own process, through the emulator when there
// is one. Import IDs that hold an address (SQS queue URLs) are then given the emulator's
// address as the Terraform containers reach it, not as this process does: Terraform imports
// by that URL.
func (r *run) importRequest(ctx context.Context, project string, opts importer.Options) (importer.Request, error) {
	endpoint, err := r.processAWS(ctx)
	if err != nil {
		return importer.Request{}, err
	}
	req := importer.RequestFor(r.profile, project, r.region(), endpoint, opts)
	if r.emulator != nil {
		req.ImportIDs = func(found []discovery.Resource) ([]discovery.Resource, error) {
			return pipeline.ForContainers(found, r.emulatorURL())
		}
	}
	return req, nil
}
