package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"dagger/infra/internal/dagger"

	"github.com/infrapipe/infrapipe/ci/commands"
	"github.com/infrapipe/infrapipe/ci/planstore"
)

// storedRef is a stored plan an apply was given: its reference and the approved SHA-256.
type storedRef struct {
	ref    planstore.Ref
	sha256 string
	commit string // the commit being deployed; "" skips the check
}

// parseStoredRef checks --plan-ref and --plan-sha256 (ci/planstore) before anything runs; a
// nil result means no stored plan was given.
func parseStoredRef(planRef, planSha256, commit string) (*storedRef, error) {
	ref, given, err := planstore.ParseFlags(planRef, planSha256)
	if err != nil || !given {
		return nil, err
	}
	return &storedRef{ref: ref, sha256: planSha256, commit: commit}, nil
}

// storePlan keeps a judged plan in the environment's state bucket for a later apply.
func (r *run) storePlan(ctx context.Context, p *planRun, commit string) (planstore.Ref, planstore.Meta, error) {
	data, err := r.planBytes(ctx, p)
	if err != nil {
		return planstore.Ref{}, planstore.Meta{}, err
	}
	objs, err := r.stateBucket(ctx)
	if err != nil {
		return planstore.Ref{}, planstore.Meta{}, err
	}
	return planstore.Store(ctx, objs, r.profile.Backend.Bucket, r.env, data, commit, time.Now())
}

// storeForApply stores a judged plan and returns the summary section a reviewer approves,
// with the apply line; the plan's outputs gain plan_ref and plan_sha256 for a workflow.
func (r *run) storeForApply(ctx context.Context, p *planRun, commit string, creds awsCredentials) (string, error) {
	ref, meta, err := r.storePlan(ctx, p, commit)
	if err != nil {
		return "", err
	}
	if p.decision.Outputs == nil {
		p.decision.Outputs = map[string]string{}
	}
	p.decision.Outputs["plan_ref"], p.decision.Outputs["plan_sha256"] = ref.Key(), meta.SHA256
	apply := r.m.envCall("apply", string(r.env), creds).Flag("plan-ref", ref.Key()).Flag("plan-sha256", meta.SHA256).Flag("commit", commit)
	return planstore.Section(ref, meta, apply.String()), nil
}

// planBytes reads the saved plan file byte for byte. The engine's API carries file contents
// as text, which a zip would not survive, so it travels as base64 through a file (never the
// progress stream: a plan holds secrets).
func (r *run) planBytes(ctx context.Context, p *planRun) ([]byte, error) {
	const step = "read the saved plan"
	ctr, err := r.exec(ctx, p.ctr, step, commands.Encode(outDir))
	if err != nil {
		return nil, err
	}
	encoded, err := readOut(ctx, ctr, step, "tfplan.b64")
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(encoded), ""))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", step, err)
	}
	return data, nil
}

// storedPlan fetches a stored plan and proves it is the approved one before anything is
// applied (ci/planstore): its hash, environment, age and commit, and that the state pulled
// now is the one it was made on. The plan then goes through the safety gate again, as judged
// for this run.
func (r *run) storedPlan(ctx context.Context, ctr *dagger.Container, s *storedRef, forceRecreate bool) (*planRun, error) {
	objs, err := r.stateBucket(ctx)
	if err != nil {
		return nil, err
	}
	pulled, _, state, err := r.pullState(ctx, ctr)
	if err != nil {
		return nil, err
	}
	want := planstore.Want{Env: r.env, SHA256: s.sha256, Commit: s.commit, MaxAge: r.profile.PlanMaxAge, Now: time.Now()}
	data, err := planstore.FetchApproved(ctx, objs, r.profile.Backend.Bucket, s.ref, want, []byte(state))
	if err != nil {
		return nil, err
	}
	// Like a state, the plan reaches the container as a secret mount, never as file contents
	// in the call graph.
	const mounted = "/run/stored-plan/tfplan.b64"
	plan := dag.SetSecret("stored-plan-"+s.ref.Run, base64.StdEncoding.EncodeToString(data))
	shown, err := r.exec(ctx, pulled.WithMountedSecret(mounted, plan), "terraform show (the stored plan)",
		commands.ShowEncoded(outDir, mounted))
	if err != nil {
		return nil, err
	}
	return r.judge(ctx, shown, forceRecreate)
}

// deleteStored removes an applied plan so it cannot be applied twice; a failure is reported
// in the summary's note, not returned (ci/planstore says why).
func (r *run) deleteStored(ctx context.Context, s *storedRef) string {
	objs, err := r.stateBucket(ctx)
	if err == nil {
		err = planstore.Delete(ctx, objs, r.profile.Backend.Bucket, s.ref)
	}
	return planstore.DeleteNote(err)
}
