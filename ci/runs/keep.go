package runs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/infrapipe/infrapipe/ci/gate"
)

// Outcome is f for a run that ended with err (nil when it succeeded): a failure is verdict
// block with the error as its reason and nothing applied; a success without a verdict of its
// own passed.
func (f Facts) Outcome(err error) Facts {
	if err != nil {
		f.Verdict, f.Reasons, f.Applied = gate.Block, []string{err.Error()}, false
	}
	if f.Verdict == "" {
		f.Verdict = gate.Pass
	}
	return f
}

// Opener gives the state bucket's objects and the stack's record prefix, opened only when
// a record is written.
type Opener func() (objs Objects, prefix string, err error)

// Keep writes f (ended now when it has no end) as a new record in bucket, under a name of
// its own, within WriteTimeout. Like Write it never fails: a bucket that is not configured,
// cannot be opened or does not answer comes back as Written.Warning.
func Keep(ctx context.Context, bucket string, f Facts, open Opener) Written {
	if f.Ended.IsZero() {
		f.Ended = time.Now()
	}
	if bucket == "" {
		return Written{Warning: fmt.Sprintf("%s has no state bucket (pipeline.yaml backend.bucket) to keep it in", f.Env)}
	}
	nonce := make([]byte, 4)
	if _, err := rand.Read(nonce); err != nil {
		return Written{Warning: fmt.Sprintf("name the record: %v", err)}
	}
	f.ID = NewID(f.Started, hex.EncodeToString(nonce))
	objs, prefix, err := open()
	if err != nil {
		return Written{Warning: err.Error()}
	}
	return Write(ctx, objs, bucket, prefix, New(f), WriteTimeout)
}
