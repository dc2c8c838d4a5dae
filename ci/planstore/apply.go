package planstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// ParseFlags checks apply's --plan-ref and --plan-sha256 before anything runs. given is
// false when neither was passed: the apply plans for itself.
func ParseFlags(planRef, planSha256 string) (ref Ref, given bool, err error) {
	if planRef == "" && planSha256 == "" {
		return Ref{}, false, nil
	}
	if planRef == "" || planSha256 == "" {
		return Ref{}, false, errors.New("give --plan-ref and --plan-sha256 together: both are in the summary of `plan --store-plan`")
	}
	if ref, err = ParseRef(planRef); err != nil {
		return Ref{}, false, err
	}
	if err := CheckSHA256(planSha256); err != nil {
		return Ref{}, false, err
	}
	return ref, true, nil
}

// Store names a judged plan of env made now (its time and a random nonce, so two plans of
// the same second differ) and puts it in the bucket for a later apply.
func Store(ctx context.Context, objs Objects, bucket string, env environment.Name, stack string, plan []byte, commit string, now time.Time) (Ref, Meta, error) {
	nonce := make([]byte, 4)
	if _, err := rand.Read(nonce); err != nil {
		return Ref{}, Meta{}, fmt.Errorf("name the stored plan: %w", err)
	}
	ref := NewRef(env, now, hex.EncodeToString(nonce))
	meta, err := Put(ctx, objs, bucket, ref, stack, plan, commit, now)
	if err != nil {
		return Ref{}, Meta{}, err
	}
	return ref, meta, nil
}

// FetchApproved fetches the stored plan an apply was given and returns it only when it is
// the approved one: for this environment, the hash the reviewer saw, young enough, from the
// commit being deployed (Check), and made on the state the backend holds now (pulled, as
// `terraform state pull` printed it), with what was recorded beside it. Nothing has been
// applied when it returns an error.
func FetchApproved(ctx context.Context, objs Objects, bucket string, ref Ref, want Want, pulled []byte) ([]byte, Meta, error) {
	if err := ref.CheckEnv(want.Env); err != nil {
		return nil, Meta{}, err
	}
	plan, meta, modified, err := Get(ctx, objs, bucket, ref)
	if err != nil {
		return nil, Meta{}, err
	}
	if err := Check(ref, want, plan, meta, modified); err != nil {
		return nil, Meta{}, err
	}
	prior, err := Prior(plan)
	if err != nil {
		return nil, Meta{}, err
	}
	current, err := Current(pulled)
	if err != nil {
		return nil, Meta{}, err
	}
	if err := CheckFresh(want.Env, ref, prior, current, meta.Applying); err != nil {
		return nil, Meta{}, err
	}
	return plan, meta, nil
}

// DeleteNote is the apply summary's note when an applied plan could not be deleted (err
// from Delete, or from reaching the bucket); "" when it was. Such a failure is reported, not
// returned: the apply is done, and Terraform refuses the now stale plan anyway.
func DeleteNote(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf("the applied plan stays in the bucket (%v); Terraform refuses to apply it again, as the state has moved", err)
}
