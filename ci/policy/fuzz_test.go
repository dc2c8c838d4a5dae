package policy

import (
	"testing"

	"github.com/infrapipe/infrapipe/ci/findings"
)

// opa's output reaches Parse from a container that may have crashed half-way: any bytes
// give a result or an error, never a panic, and an accepted result is fully formed.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"result":[{"expressions":[{"value":{"packages":["lib","tags"],"rules":["tags"],"deny":[{"package":"tags","deny":{"rule":"required_tags","severity":"MEDIUM","resource":"aws_s3_bucket.b","message":"m"}}]}}]}]}`))
	f.Add([]byte(`{"errors":[{"message":"x"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse("fuzz.json", data)
		if err != nil {
			return
		}
		if len(r.Rules) == 0 {
			t.Fatal("accepted a result without rules")
		}
		for _, f := range r.Findings {
			if f.Tool != "opa" || f.RuleID == "" || f.Message == "" || f.Severity == findings.Unknown {
				t.Fatalf("incomplete finding %+v", f)
			}
		}
	})
}
