package report

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestReadJUnit(t *testing.T) {
	suites := []Suite{
		{Name: "pipeline test", Cases: []Case{
			{Name: "Lint", Classname: "test", Time: 1250 * time.Millisecond},
			{Name: "Plan", Failure: "prod plan deletes aws_s3_bucket.data", Output: "details\n<with> & markup"},
			{Name: "Cost", Skipped: "no API key"},
		}},
		{Name: "post-deploy tests", Cases: []Case{{Name: "converged", Output: "plan: no changes"}}},
	}
	data, err := JUnit(suites)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadJUnit("junit.xml", data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := JUnit(got)
	if err != nil || !bytes.Equal(again, data) {
		t.Errorf("read and written again:\n%s\nwant\n%s", again, data)
	}
	if got[0].Cases[1].Failure != "prod plan deletes aws_s3_bucket.data" || got[0].Cases[0].Time != 1250*time.Millisecond {
		t.Errorf("ReadJUnit = %+v", got)
	}
	for _, bad := range []struct{ data, want string }{
		{"<nope", "not JUnit XML"},
		{`<testsuites><testsuite name="x"><testcase name="y" time="-1"/></testsuite></testsuites>`, `testsuite 0 testcase 0: time "-1"`},
		{`<testsuites><testsuite name="x"><testcase name="y" time="NaN"/></testsuite></testsuites>`, "not a number of seconds"},
	} {
		if _, err := ReadJUnit("j.xml", []byte(bad.data)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ReadJUnit(%q) = %v, want %q", bad.data, err, bad.want)
		}
	}
}

// Whatever the input, what ReadJUnit accepts writes back to a document it reads the same.
func FuzzReadJUnit(f *testing.F) {
	data, _ := JUnit([]Suite{{Name: "s", Cases: []Case{{Name: "c", Failure: "f", Output: "o"}, {Name: "d", Skipped: "k"}}}})
	f.Add(data)
	f.Add([]byte(`<testsuites><testsuite name="a"><testcase name="b" time="0.5"><failure message=""/></testcase></testsuite></testsuites>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		suites, err := ReadJUnit("fuzz", data)
		if err != nil {
			return
		}
		out, err := JUnit(suites)
		if err != nil {
			return // text XML cannot carry (e.g. some control characters) is refused on write
		}
		again, err := ReadJUnit("again", out)
		if err != nil {
			t.Fatalf("JUnit wrote what ReadJUnit refuses: %v\n%s", err, out)
		}
		out2, err := JUnit(again)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not stable after one round:\n%s\n%s", out, out2)
		}
	})
}
