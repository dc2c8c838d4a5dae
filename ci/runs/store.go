package runs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/infrapipe/infrapipe/ci/environment"
	"github.com/infrapipe/infrapipe/ci/internal/statebucket"
)

// Objects is the part of an S3 client the records use; *s3.Client is one.
type Objects interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, opts ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, opts ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Prefix is where a stack's records live in the state bucket: runs/<stack>/, beside
// backups/<stack>/, so stacks sharing a bucket never mix their records; runs/ for a stack at
// the repository's root.
func Prefix(stack string) string {
	if stack == "" {
		return "runs/"
	}
	return "runs/" + strings.Trim(stack, "/") + "/"
}

// NewID names a run started at started; nonce (random hex) tells apart two runs of the same
// second.
func NewID(started time.Time, nonce string) string {
	return started.UTC().Format("20060102T150405Z") + "-" + nonce
}

// Key is the record's object key: <prefix><env>/<YYYY>/<MM>/<DD>/<id>_<summary>.json, the
// day of its start (see summary for the rest of the name). One folder per day lets a reader
// list only the days of the period it asks about, so reading a week costs a week whatever
// the length of the history.
func Key(prefix string, r Record) string {
	return dayPrefix(prefix, r.Env, r.Started) + r.ID + "_" + summary(r) + ".json"
}

func dayPrefix(prefix string, env environment.Name, day time.Time) string {
	return prefix + string(env) + "/" + day.UTC().Format("2006/01/02") + "/"
}

// WriteTimeout bounds a record write: a stalled bucket must not hold a finished run.
const WriteTimeout = 20 * time.Second

// Written says where a record went, or why it did not: a record that cannot be written is a
// warning in the run's report, never a failure of the run.
type Written struct {
	Key     string `json:"key,omitempty"`
	Warning string `json:"warning,omitempty"`
}

// Markdown is the report's line about the record; empty when it was written (the record is
// bookkeeping, not news).
func (w Written) Markdown() string {
	if w.Warning == "" {
		return ""
	}
	return "> [!WARNING]\n> The run record was not written (the KPIs will miss this run): " +
		strings.ReplaceAll(w.Warning, "\n", " ") + "\n"
}

// Write stores a record in bucket under prefix, encrypted at rest like the state, within
// timeout. It never returns an error: a failure comes back as Written.Warning, because
// bookkeeping must not fail or undo a deployment.
func Write(ctx context.Context, objs Objects, bucket, prefix string, r Record, timeout time.Duration) Written {
	data, err := r.Marshal()
	if err != nil {
		return Written{Warning: err.Error()}
	}
	key := Key(prefix, r)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err = objs.PutObject(ctx, &s3.PutObjectInput{
		Bucket:               aws.String(bucket),
		Key:                  aws.String(key),
		Body:                 bytes.NewReader(data),
		ContentType:          aws.String("application/json"),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	})
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Written{Warning: fmt.Sprintf("s3://%s/%s: no answer within %s", bucket, key, timeout)}
		}
		return Written{Warning: fmt.Sprintf("s3://%s/%s: %v", bucket, key, err)}
	}
	return Written{Key: key}
}

// History is what Read found for one environment and period.
type History struct {
	Env     environment.Name
	From    time.Time
	To      time.Time
	Records []Record // sorted by start, then id
	// Newer counts records of a newer schema version, skipped; Invalid names the objects that
	// are not valid records, skipped too.
	Newer   int
	Invalid []string
}

// Parallel is how many requests Read keeps in flight.
const Parallel = 16

// Read loads env's records started in [from, to) from bucket. It lists only the day folders
// of the period (and one day either side, for runners whose clocks disagree about the date)
// and fetches records in parallel, so its cost grows with the period, not the history.
// Records that cannot be parsed are counted in the history, never fatal; a bucket that
// cannot be listed or read is.
func Read(ctx context.Context, objs Objects, bucket, prefix string, env environment.Name, from, to time.Time) (History, error) {
	return read(ctx, objs, bucket, prefix, env, from, to, false)
}

func read(ctx context.Context, objs Objects, bucket, prefix string, env environment.Name, from, to time.Time, names bool) (History, error) {
	h := History{Env: env, From: from.UTC(), To: to.UTC()}
	days := folders(prefix, env, dayStart(from).AddDate(0, 0, -1), dayStart(to).AddDate(0, 0, 1))
	keys := make([][]object, len(days))
	if err := each(ctx, len(days), func(ctx context.Context, i int) error {
		var err error
		keys[i], err = list(ctx, objs, bucket, days[i])
		return err
	}); err != nil {
		return History{}, err
	}
	var all []object
	for _, k := range keys {
		all = append(all, k...)
	}
	type got struct {
		rec Record
		err error
	}
	results := make([]got, len(all))
	if err := each(ctx, len(all), func(ctx context.Context, i int) error {
		if names {
			r, err := FromName(env, path.Base(all[i].key))
			if !errors.Is(err, errNoSummary) {
				results[i].rec, results[i].err = r, err
				results[i].rec.Stored = all[i].modified
				return nil
			}
		}
		data, err := get(ctx, objs, bucket, all[i].key)
		if err != nil {
			return err
		}
		results[i].rec, results[i].err = Parse(all[i].key, data)
		results[i].rec.Stored = all[i].modified
		return nil
	}); err != nil {
		return History{}, err
	}
	for i, g := range results {
		switch {
		case errors.Is(g.err, ErrNewerSchema):
			h.Newer++
		case g.err != nil:
			h.Invalid = append(h.Invalid, all[i].key)
		case g.rec.Env != env:
			h.Invalid = append(h.Invalid, all[i].key) // a record filed under another environment
		case !g.rec.Started.Before(h.From) && g.rec.Started.Before(h.To):
			h.Records = append(h.Records, g.rec)
		}
	}
	Sort(h.Records)
	return h, nil
}

// Sort orders records by start, then id.
func Sort(rs []Record) {
	sort.SliceStable(rs, func(i, j int) bool {
		if !rs[i].Started.Equal(rs[j].Started) {
			return rs[i].Started.Before(rs[j].Started)
		}
		return rs[i].ID < rs[j].ID
	})
}

// folders are the prefixes that cover the days first to last: a month's folder where the
// whole month is in, the days' folders at the edges. Fewer, fuller listings: S3 answers a
// thousand keys a call.
func folders(prefix string, env environment.Name, first, last time.Time) []string {
	var out []string
	for d := first; !d.After(last); {
		if next := d.AddDate(0, 1, 0); d.Day() == 1 && !next.AddDate(0, 0, -1).After(last) {
			out = append(out, prefix+string(env)+"/"+d.Format("2006/01")+"/")
			d = next
			continue
		}
		out = append(out, dayPrefix(prefix, env, d))
		d = d.AddDate(0, 0, 1)
	}
	return out
}

func dayStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// object is a listed record: its key and when the bucket received it.
type object struct {
	key      string
	modified time.Time
}

func list(ctx context.Context, objs Objects, bucket, prefix string) ([]object, error) {
	var keys []object
	var token *string
	for {
		out, err := objs.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), ContinuationToken: token})
		if err != nil {
			return nil, fmt.Errorf("list run records s3://%s/%s: %w", bucket, prefix, statebucket.Check(err, bucket))
		}
		for _, o := range out.Contents {
			if k := aws.ToString(o.Key); path.Ext(k) == ".json" {
				keys = append(keys, object{k, aws.ToTime(o.LastModified).UTC()})
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return keys, nil
		}
		token = out.NextContinuationToken
	}
}

func get(ctx context.Context, objs Objects, bucket, key string) ([]byte, error) {
	out, err := objs.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("read run record s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, maxRecord+1))
	if err != nil {
		return nil, fmt.Errorf("read run record s3://%s/%s: %w", bucket, key, err)
	}
	return data, nil
}

// each runs f for 0..n-1 with at most Parallel in flight and returns the first error; the
// others are cancelled.
func each(ctx context.Context, n int, f func(context.Context, int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(Parallel)
	for i := 0; i < n; i++ {
		g.Go(func() error { return f(ctx, i) })
	}
	return g.Wait()
}
