package state

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/infrapipe/infrapipe/ci/environment"
)

// bigState is a state of n resources shaped like the real one in testdata, for the backup
// and restore path on large states (a few MB).
func bigState(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"version": 4, "terraform_version": "1.11.4", "serial": 812, "lineage": "49367edf-2503-605e-e815-0cb0e1029e2e", "outputs": {}, "resources": [`)
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"mode": "managed", "type": "aws_s3_bucket", "name": "b%d", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",`+
			` "instances": [{"schema_version": 0, "attributes": {"id": "bucket-%d", "bucket": "bucket-%d", "arn": "arn:aws:s3:::bucket-%d",`+
			` "tags": {"Project": "shop", "Environment": "prod"}}, "sensitive_attributes": []}]}`, i, i, i, i)
	}
	sb.WriteString(`], "check_results": null}`)
	return []byte(sb.String())
}

func BenchmarkNewBackup10k(b *testing.B) {
	data := bigState(10000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := NewBackup(environment.Prod, data, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrepareRestore10k(b *testing.B) {
	backup := bigState(10000)
	current := []byte(strings.Replace(string(backup), `"serial": 812`, `"serial": 815`, 1))
	b.SetBytes(int64(len(backup)))
	for b.Loop() {
		r, err := PrepareRestore(environment.Prod, "", current, backup)
		if err != nil || r.PushSerial != 816 {
			b.Fatal(r.PushSerial, err)
		}
	}
}

func BenchmarkParseLockError(b *testing.B) {
	out := string(readTestdata(b, "lock-s3-lockfile-color.txt"))
	for b.Loop() {
		if _, ok := ParseLockError(out); !ok {
			b.Fatal("not parsed")
		}
	}
}
