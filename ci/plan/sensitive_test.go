package plan

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// TestSensitiveValues plans a real change whose old and new values come from a sensitive
// variable, beside a sensitive output and plain values, and checks that exactly the
// sensitive ones are returned.
func TestSensitiveValues(t *testing.T) {
	const cfg = `
variable "password" {
  type      = string
  sensitive = true
}
variable "region" {
  type    = string
  default = "eu-west-1"
}
resource "terraform_data" "db" {
  input = { password = var.password, name = "orders-db", port = 5432, pin = "ab" }
}
output "token" {
  value     = "tok-${var.region}-9f8e"
  sensitive = true
}
`
	w := tftest.New(t, map[string]string{"main.tf": cfg})
	w.Init()
	w.Apply("-var=password=old-hunter2")
	js := w.PlanJSON("-var=password=new-hunter2")
	got, err := SensitiveValues(bytes.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"old-hunter2", "new-hunter2", "tok-eu-west-1-9f8e"} {
		if !slices.Contains(got, want) {
			t.Errorf("sensitive values %q lack %q", got, want)
		}
	}
	for _, plain := range []string{"orders-db", "eu-west-1", "5432"} {
		if !bytes.Contains(js, []byte(plain)) {
			t.Fatalf("test is broken: %q is not in the plan", plain)
		}
		if slices.Contains(got, plain) {
			t.Errorf("plain value %q returned as sensitive", plain)
		}
	}
	for i := 1; i < len(got); i++ {
		if len(got[i]) > len(got[i-1]) {
			t.Errorf("not longest first: %q", got)
		}
	}
}

// TestSensitiveValuesObject: a whole sensitive object yields every leaf, short ones aside.
func TestSensitiveValuesObject(t *testing.T) {
	const js = `{"format_version":"1.2","resource_changes":[{"address":"a.b","mode":"managed","type":"a","name":"b",
"change":{"actions":["create"],"before":null,"after":{"conf":{"user":"admin","keys":["k-123456","x"],"port":54321},"name":"plain"},
"after_unknown":{},"before_sensitive":false,"after_sensitive":{"conf":true}}}]}`
	got, err := SensitiveValues(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"k-123456", "54321", "admin"}; !slices.Equal(got, want) {
		t.Errorf("sensitive values %q, want %q", got, want)
	}
}

func TestSensitiveValuesErrors(t *testing.T) {
	for _, in := range []string{"", `{"format_version":"1.2","resource_changes":[`, `{"format_version":"9.0"}`} {
		if _, err := SensitiveValues(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "sensitive values") {
			t.Errorf("SensitiveValues(%q) error = %v", in, err)
		}
	}
}

func FuzzSensitiveValues(f *testing.F) {
	f.Add([]byte(`{"format_version":"1.2","resource_changes":[{"address":"a.b","change":{"actions":["create"],"after":{"k":["secret-1",{"x":"secret-2"}]},"after_sensitive":{"k":[true,{"x":true}]}}}],"output_changes":{"o":{"actions":["create"],"after":"secret-3","after_sensitive":true}}}`))
	f.Add([]byte(`{"format_version":"1.2","variables":{"p":{"value":"abcd"}},"configuration":{"root_module":{"variables":{"p":{"sensitive":true}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := SensitiveValues(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, s := range got {
			if len(s) < MinSensitiveLen {
				t.Fatalf("short value %q returned", s)
			}
		}
	})
}
