package main

import (
	"context"
	"fmt"
	"path"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/discovery"
	"github.com/infrapipe/infrapipe/ci/gate"
	"github.com/infrapipe/infrapipe/ci/importer"
	"github.com/infrapipe/infrapipe/ci/pipeline"
	"github.com/infrapipe/infrapipe/ci/runs"
)

// Import adopts resources that already exist instead of letting Terraform create duplicates:
// it finds the environment's resources by their project and environment tags
// (ci/discovery), maps each to the configuration resource that would create it
// (ci/importer; missing or ambiguous matches are reported, never guessed), writes imports.tf
// (Terraform import blocks) and plans them in one plan, targeted at the imported addresses.
// Without --dry-run it applies that plan through the safety gate (with a state backup first
// where the profile asks for one). Resources already in state are skipped, so a re-run
// changes nothing, unless --force re-imports them (after a state backup). Returns imports.tf,
// import-report.md, import-report.json and plan.txt; fails if an import or the plan with the
// import blocks failed, and the error then holds import-report.md.
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
	creds, err := m.credentials(ctx)
	if err != nil {
		return nil, err
	}
	reproduce := m.envCall("import", env, creds).Flag("project", project).Bool("dry-run", dryRun).Bool("force", force).Bool("generate-config", generateConfig)
	r, err := m.newRun(ctx, env, creds)
	if err != nil {
		return nil, reproduce.Wrap(err)
	}
	out, err := r.importResources(ctx, project, dryRun, force, generateConfig, reproduce)
	note := r.recordOutcome(ctx, runs.Facts{Kind: runs.KindImport, Started: started, DryRun: dryRun, Applied: err == nil && !dryRun,
		Steps: []runs.Step{runs.StepOf(string(pipeline.StepImport), verdictOf(err), 0, started, time.Now())}, Reproduce: reproduce.String()}, err).Markdown()
	if err == nil && note != "" {
		out, err = withNote(ctx, out, "import-report.md", note)
	}
	return out, reproduce.Wrap(err)
}

// importResources is Import's story: map, back up and remove what --force re-imports, plan
// the imports, and apply that plan through the gate unless dryRun.
func (r *run) importResources(ctx context.Context, project string, dryRun, force, generateConfig bool, reproduce pipeline.Command) (_ *dagger.Directory, failure error) {
	env := string(r.env)
	if !importer.Enabled(r.profile) {
		return nil, fmt.Errorf("%s does not import (import strategy %q: its resources are ephemeral); import into test, staging or prod", env, r.profile.Import)
	}
	opts := importer.OptionsFor(r.profile)
	opts.Force, opts.GenerateConfig = force, generateConfig
	ctr, mapped, err := r.mapImports(ctx, project, opts)
	if err != nil {
		return nil, err
	}
	out := dag.Directory()
	var text, notes string // the plan with the import blocks; the state backup lines
	if len(mapped.plan.Imports()) > 0 {
		if !dryRun && len(mapped.plan.StateRemovals) > 0 {
			// state rm is written to the backend at once, before the plan: keep the state it
			// changes, whatever the profile, so a failed plan can be undone with restore-state.
			b, err := r.backup(ctx, ctr)
			if err != nil {
				return nil, mapped.plan.BackupError(r.env, err)
			}
			notes = b.markdown()
			// From here on the state has lost addresses until the import is applied: every
			// failure says how to put them back.
			defer func() {
				if failure != nil {
					failure = stateChanged(failure, r, b, mapped.plan.StateRemovals)
				}
			}()
			for _, addr := range mapped.plan.StateRemovals {
				if ctr, err = r.exec(ctx, ctr, "terraform state rm "+addr, []string{"terraform", "state", "rm", "-no-color", addr}); err != nil {
					return nil, err
				}
			}
		}
		ctr = ctr.WithNewFile(path.Join(r.m.tfDir(), importer.FileName), string(mapped.plan.ImportBlocks()))
		if ctr, err = r.planned(ctx, ctr, mapped.plan.TargetArgs()...); err != nil {
			return nil, mapped.planFailed(env, dryRun, err)
		}
		if err := mapped.resolve(ctx, ctr); err != nil {
			return nil, err
		}
		if text, err = readOut(ctx, ctr, "plan", "plan.txt"); err != nil {
			return nil, err
		}
		if mapped.plan.GenerateConfigOut {
			out = out.WithFile(importer.GeneratedFile, ctr.File(path.Join(r.m.tfDir(), importer.GeneratedFile)))
		}
		if !dryRun && mapped.plan.Err() == nil {
			p, err := r.judge(ctx, ctr, false)
			if err != nil {
				return nil, err
			}
			if err := p.planReport().Blocked("import; nothing was imported"); err != nil {
				return nil, err
			}
			applied, err := r.applyPlan(ctx, p)
			if err != nil {
				return nil, err
			}
			mapped.plan = mapped.plan.Applied()
			notes += applied.backup.markdown()
		}
	}
	report := importer.NewReport(env, dryRun, mapped.plan, mapped.stats)
	if err := mapped.plan.Err(); err != nil {
		return nil, report.Error(err)
	}
	files, err := report.Files(text, notes, reproduce.Markdown())
	if err != nil {
		return nil, err
	}
	reports, err := reportDir(ctx, files...)
	if err != nil {
		return nil, err
	}
	return out.WithDirectory(".", reports), nil
}

// planFailed is the plan with the import blocks failing (an object vanished after
// discovery, an ID the provider rejects): nothing is imported, and every row of the report
// says so with Terraform's error, read from the plan's output that err holds.
func (im *importMapping) planFailed(env string, dryRun bool, err error) error {
	if readErr := im.resolveFailure(err); readErr != nil {
		return fmt.Errorf("import into %s: %w (its output could not be read: %v)", env, err, readErr)
	}
	return importer.NewReport(env, dryRun, im.plan, im.stats).Error(err)
}

// resolveFailure marks every import failed with the error a failed plan printed: a plan
// that fails imports nothing.
func (im *importMapping) resolveFailure(err error) error {
	outcome, readErr := importer.ReadOutcome(nil, []byte(err.Error()))
	if readErr != nil {
		return readErr
	}
	im.plan = im.plan.Resolve(outcome)
	return nil
}

// stateChanged is an import failure after --force removed addresses from the state: the
// error says which are gone and how to put the state back from the backup taken first.
func stateChanged(err error, r *run, b backupResult, removed []string) error {
	return importer.StateChangedError(err, r.env, removed, r.call("restore-state").Flag("from", b.key).Bool("confirm", true).String())
}

// importMapping is discovery's result mapped onto the configuration.
type importMapping struct {
	plan  *importer.Plan
	stats discovery.Stats
}

// mapImports plans the configuration without import blocks (its creates are the
// candidates, its prior state what is already managed), then discovers the tagged resources
// and maps them with importer.Prepare, the flow ci/importer's tests run, writing no file: the
// caller adds the blocks to its container. It returns the initialized container, without
// the plan files.
func (r *run) mapImports(ctx context.Context, project string, opts importer.Options) (*dagger.Container, *importMapping, error) {
	if err := importer.CheckProject(project, r.profile); err != nil {
		return nil, nil, err
	}
	ctr, err := r.initialized(ctx)
	if err != nil {
		return nil, nil, err
	}
	planned, err := r.planned(ctx, ctr)
	if err != nil {
		return nil, nil, err
	}
	js, err := readOut(ctx, planned, "plan", "plan.json")
	if err != nil {
		return nil, nil, err
	}
	req, err := r.importRequest(ctx, project, opts)
	if err != nil {
		return nil, nil, err
	}
	req.PlanJSON = []byte(js)
	res, err := importer.Prepare(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	return ctr, &importMapping{plan: res.Plan, stats: res.Stats}, nil
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

// resolve reads, from the plan made with the import blocks, which imports Terraform will do.
func (im *importMapping) resolve(ctx context.Context, planned *dagger.Container) error {
	js, err := readOut(ctx, planned, "plan", "plan.json")
	if err != nil {
		return err
	}
	tfplan, err := importer.ReadPlan([]byte(js))
	if err != nil {
		return err
	}
	outcome, err := importer.ReadOutcome(tfplan, nil)
	if err != nil {
		return err
	}
	im.plan = im.plan.Resolve(outcome)
	return nil
}

// importFiles is the imports.tf the pipeline adds to the configuration before it plans.
type importFiles struct {
	path    string
	file    *dagger.File
	mapping *importMapping
}

// importStep maps existing resources for the pipeline's plan: one plan then imports
// everything beside the other changes. nil when the profile skips import or no project was
// given.
func (p *pipelineRun) importStep(ctx context.Context) (*importFiles, error) {
	if !p.plan.Runs(pipeline.StepImport) {
		return nil, nil
	}
	_, mapped, err := p.r.mapImports(ctx, p.project, importer.OptionsFor(p.r.profile))
	if err != nil {
		return nil, err
	}
	if len(mapped.plan.Imports()) == 0 {
		p.importDone(mapped)
		return nil, nil
	}
	blocks := string(mapped.plan.ImportBlocks())
	return &importFiles{
		path:    path.Join(p.r.m.tfDir(), importer.FileName),
		file:    dag.File(importer.FileName, blocks),
		mapping: mapped,
	}, nil
}

// importDone records the import step once the plan says what it imports.
func (p *pipelineRun) importDone(mapped *importMapping) {
	report := importer.NewReport(string(p.r.env), p.dryRun, mapped.plan, mapped.stats)
	s := pipeline.StepReport{Outcome: pipeline.Outcome{Step: pipeline.StepImport, Verdict: gate.Pass}, Markdown: report.Markdown()}
	if err := mapped.plan.Err(); err != nil {
		s.Verdict, s.Reasons = gate.Block, []string{err.Error()}
	}
	files, err := report.Files("")
	if err != nil {
		s.Verdict, s.Reasons = gate.Block, []string{err.Error()}
	}
	p.rec.Add(s)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.files = append(p.files, files...)
}
