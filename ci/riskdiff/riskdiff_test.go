package riskdiff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/infrapipe/infrapipe/ci/internal/mototest"
	"github.com/infrapipe/infrapipe/ci/internal/tftest"
)

// awsWorkspace is a Terraform working directory with the real hashicorp/aws provider (from
// the machine's filesystem mirror) pointed at moto, so plans have the provider's real shapes,
// unknown values and all.
func awsWorkspace(t *testing.T, moto *mototest.Server) *tftest.Workspace {
	t.Helper()
	w := tftest.New(t, nil)
	w.UseRealAWSProviderOn(moto.URL, "ec2", "iam", "s3", "sts")
	return w
}

const before = `
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
}
resource "aws_iam_policy" "read" {
  name   = "read"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = ["s3:GetObject"], Resource = "*" }] })
}
resource "aws_s3_bucket" "data" {
  bucket = "data"
}
resource "aws_s3_bucket_public_access_block" "data" {
  bucket                  = aws_s3_bucket.data.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
`

// The security group opened to the internet, the policy widened to every S3 action, the
// public access block loosened, and a new rule open to the internet: each appears with its
// before and after as the real provider plans them. Unchanged attributes, the bucket, and a
// new group whose rules the provider fills in after apply (none set here) do not.
func TestReadRealProviderPlan(t *testing.T) {
	moto := mototest.Start(t)
	moto.Setenv(t)
	w := awsWorkspace(t, moto)
	w.Write("main.tf", before)
	w.Init()
	w.Apply()
	after := strings.NewReplacer(`"10.0.0.0/8"`, `"0.0.0.0/0"`, `["s3:GetObject"]`, `["s3:*"]`, "block_public_policy     = true", "block_public_policy     = false").Replace(before) + `
resource "aws_security_group" "admin" {
  name = "admin"
}
resource "aws_vpc_security_group_ingress_rule" "ssh" {
  security_group_id = aws_security_group.admin.id
  cidr_ipv4         = "0.0.0.0/0"
  from_port         = 22
  to_port           = 22
  ip_protocol       = "tcp"
}
`
	w.Write("main.tf", after)
	diffs, err := Read(bytes.NewReader(w.PlanJSON()), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Diff{}
	for _, d := range diffs {
		got[d.Address+" "+d.Attribute] = d
	}
	for key, want := range map[string][2]string{
		"aws_security_group.web ingress":                             {"10.0.0.0/8", "0.0.0.0/0"},
		"aws_iam_policy.read policy":                                 {`"s3:GetObject"`, `"s3:*"`},
		"aws_s3_bucket_public_access_block.data block_public_policy": {"true", "false"},
		"aws_vpc_security_group_ingress_rule.ssh cidr_ipv4":          {none, `"0.0.0.0/0"`},
	} {
		d, ok := got[key]
		if !ok {
			t.Errorf("no diff for %s; got %v", key, diffs)
			continue
		}
		if !strings.Contains(d.Before, want[0]) || !strings.Contains(d.After, want[1]) {
			t.Errorf("%s: %s -> %s, want %s -> %s", key, d.Before, d.After, want[0], want[1])
		}
	}
	for key := range got {
		if strings.HasPrefix(key, "aws_s3_bucket.data ") || strings.HasPrefix(key, "aws_security_group.admin ") || key == "aws_security_group.web egress" ||
			key == "aws_s3_bucket_public_access_block.data block_public_acls" {
			t.Errorf("an unchanged attribute or a type without risky attributes is listed: %s", key)
		}
	}
	if d := got["aws_security_group.web ingress"]; d.Actions != "update" {
		t.Errorf("the widened group is a %q, want an update", d.Actions)
	}
	md := Markdown(diffs, 50)
	if !strings.Contains(md, "## Access and encryption changes") || !strings.Contains(md, "`aws_security_group.web`") {
		t.Errorf("Markdown:\n%s", md)
	}
}

// A value of the secret variables file whose variable is not declared sensitive (an
// external ID in a trust policy) is hidden from the table, though the plan does not mark it.
func TestReadMasksSecretValues(t *testing.T) {
	const secretID = "PlainSecret-qqq-456"
	moto := mototest.Start(t)
	moto.Setenv(t)
	w := awsWorkspace(t, moto)
	w.Write("main.tf", `
variable "external_id" { type = string }
resource "aws_iam_role" "partner" {
  name = "partner"
  assume_role_policy = jsonencode({ Version = "2012-10-17", Statement = [{
    Effect = "Allow", Action = "sts:AssumeRole", Principal = { AWS = "arn:aws:iam::123456789012:root" },
    Condition = { StringEquals = { "sts:ExternalId" = var.external_id } } }] })
}
`)
	w.Init()
	js := w.PlanJSON("-var=external_id=" + secretID)
	if !strings.Contains(string(js), secretID) {
		t.Fatalf("the plan does not hold the value; the case is moot")
	}
	diffs, err := Read(bytes.NewReader(js), []string{secretID})
	if err != nil {
		t.Fatal(err)
	}
	md := Markdown(diffs, 50)
	if len(diffs) == 0 || strings.Contains(md, secretID) || !strings.Contains(md, `\"sts:ExternalId\":\"(sensitive)\"`) && !strings.Contains(md, `"sts:ExternalId":"(sensitive)"`) {
		t.Errorf("the trust policy shows the external ID, or is not listed:\n%s", md)
	}
}

// Cut to its rows, the table shows what changes existing objects first, and each type and
// attribute once before any twice: three hundred new policies do not hide a widened group.
func TestMarkdownRanksRows(t *testing.T) {
	var diffs []Diff
	for i := range 3 {
		diffs = append(diffs, Diff{Address: fmt.Sprintf("aws_iam_policy.wide[%d]", i), Type: "aws_iam_policy", Actions: "create", Attribute: "policy", Before: none, After: `"s3:*"`})
	}
	diffs = append(diffs,
		Diff{Address: "aws_security_group.admin", Type: "aws_security_group", Actions: "create", Attribute: "ingress", Before: none, After: `"0.0.0.0/0"`},
		Diff{Address: "aws_security_group.web", Type: "aws_security_group", Actions: "update", Attribute: "ingress", Before: `"10.0.0.0/8"`, After: `"0.0.0.0/0"`})
	md := Markdown(diffs, 3)
	web, policy, admin := strings.Index(md, "aws_security_group.web"), strings.Index(md, "aws_iam_policy.wide[0]"), strings.Index(md, "aws_security_group.admin")
	if web < 0 || policy < 0 || admin < 0 || web > policy || strings.Contains(md, "wide[1]") || !strings.Contains(md, "… 2 more in the plan.") {
		t.Errorf("want the update, then one row of each created type, then the count:\n%s", md)
	}
}

// A value Terraform marks sensitive is never shown, before or after; a long policy is cut.
func TestRenderSensitiveUnknownAndLong(t *testing.T) {
	values := map[string]any{"policy": strings.Repeat("x", 1000), "secret": "hunter2", "cidr": []any{"0.0.0.0/0"}}
	if got := render(values, map[string]any{"secret": true}, nil, "secret", nil); got != sensitive {
		t.Errorf("sensitive value shown: %s", got)
	}
	if got := render(values, map[string]any{"cidr": []any{false, true}}, nil, "cidr", nil); got != sensitive {
		t.Errorf("a partly sensitive list shown: %s", got)
	}
	if got := render(values, nil, map[string]any{"cidr": []any{true}}, "cidr", nil); got != unknown {
		t.Errorf("an unknown value: %s", got)
	}
	if got := render(values, nil, nil, "policy", nil); len(got) > maxValue+30 || !strings.Contains(got, "bytes)") {
		t.Errorf("a long value not cut: %d bytes", len(got))
	}
	if md := Markdown([]Diff{{Address: "a", Attribute: "policy", Before: "x|y", After: "`z`"}}, 10); strings.Contains(md, "x|y") {
		t.Errorf("a pipe in a value splits the table:\n%s", md)
	}
	if Markdown(nil, 10) != "" {
		t.Error("no diffs, yet a section")
	}
}

// Any plan JSON, however odd its values and markers, is read without a panic, and a value
// marked sensitive never reaches the output.
func FuzzRead(f *testing.F) {
	f.Add(`{"format_version":"1.2","resource_changes":[{"address":"aws_iam_policy.p","mode":"managed","type":"aws_iam_policy","change":{"actions":["update"],"before":{"policy":"{}"},"after":{"policy":"secret-value"},"after_sensitive":{"policy":true}}}]}`)
	f.Add(`{"format_version":"1.2","resource_changes":[{"address":"aws_security_group.g","mode":"managed","type":"aws_security_group","change":{"actions":["create"],"after":{"ingress":[{"cidr_blocks":["0.0.0.0/0"]}]},"after_unknown":{"ingress":[{"cidr_blocks":[false]}]}}}]}`)
	f.Add(`{"format_version":"1.2","resource_changes":[{"address":"aws_iam_role.r","mode":"managed","type":"aws_iam_role","change":{"actions":["create"],"after":{"assume_role_policy":"{\"masked-value\":[\"x-masked-value-y\"]}"}}}]}`)
	f.Fuzz(func(t *testing.T, plan string) {
		const masked = "masked-value"
		diffs, err := Read(strings.NewReader(plan), []string{masked})
		if err != nil {
			return
		}
		_ = Markdown(diffs, 5)
		for _, d := range diffs {
			if strings.Contains(d.Before+d.After, masked) {
				t.Fatalf("a masked value was shown: %+v", d)
			}
		}
		if strings.Contains(plan, `"after_sensitive":{"policy":true}`) {
			for _, d := range diffs {
				if d.Attribute == "policy" && strings.Contains(d.After, "secret-value") {
					t.Fatalf("a sensitive value was shown: %+v", d)
				}
			}
		}
	})
}

// A replace moves a bucket's encryption to another bucket with the same settings: the state
// read bucket_key_enabled back as false, and the new object plans it as null (not set).
// Nothing a reviewer must judge changes, so no row is shown.
func TestReadUnsetIsNotAChange(t *testing.T) {
	moto := mototest.Start(t)
	moto.Setenv(t)
	w := awsWorkspace(t, moto)
	config := `
resource "aws_s3_bucket" "a" {
  bucket = "enc-a"
}
resource "aws_s3_bucket" "b" {
  bucket = "enc-b"
}
resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.a.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}
`
	w.Write("main.tf", config)
	w.Init()
	w.Apply()
	w.Write("main.tf", strings.Replace(config, "bucket = aws_s3_bucket.a.id", "bucket = aws_s3_bucket.b.id", 1))
	plan := w.PlanJSON()
	diffs, err := Read(bytes.NewReader(plan), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(plan, []byte(`"bucket_key_enabled":false`)) || !bytes.Contains(plan, []byte(`"bucket_key_enabled":null`)) {
		t.Fatalf("the provider no longer plans false -> null, so this test shows nothing:\n%s", plan)
	}
	for _, d := range diffs {
		t.Errorf("listed: %s %s (%s): %s -> %s", d.Address, d.Attribute, d.Actions, d.Before, d.After)
	}
	// Changed for real, the same replace is listed; so is a create's false, which is a value
	// (every public access block off), not an unset one.
	w.Write("main.tf", strings.NewReplacer("bucket = aws_s3_bucket.a.id", "bucket = aws_s3_bucket.b.id", `"AES256"`, `"aws:kms"`).Replace(config)+`
resource "aws_s3_bucket_public_access_block" "b" {
  bucket             = aws_s3_bucket.b.id
  block_public_acls  = false
  ignore_public_acls = false
}
`)
	if diffs, err = Read(bytes.NewReader(w.PlanJSON()), nil); err != nil {
		t.Fatal(err)
	}
	got := map[string]Diff{}
	for _, d := range diffs {
		got[d.Address+" "+d.Attribute] = d
	}
	if d := got["aws_s3_bucket_server_side_encryption_configuration.data rule"]; d.Actions != "replace" || !strings.Contains(d.After, "aws:kms") {
		t.Errorf("a changed algorithm on a replace: %+v", diffs)
	}
	if d := got["aws_s3_bucket_public_access_block.b block_public_acls"]; d.Actions != "create" || d.Before != none || d.After != "false" {
		t.Errorf("a created public access block with block_public_acls false: %+v", diffs)
	}
}

// What set keeps: a value that decides access stays, so that false -> true or 0 -> 22 is
// still a change; only unset shapes fall away.
func TestSet(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"null", `null`, `null`},
		{"false and empty", `{"a":false,"b":"","c":null}`, `null`},
		{"true stays", `{"a":true,"b":false}`, `{"a":true}`},
		{"port 0 stays", `{"from_port":0}`, `{"from_port":0}`},
		{"list of unset", `[{"k":""},{"k":false}]`, `null`},
		{"list keeps positions", `["", "10.0.0.0/8"]`, `[null,"10.0.0.0/8"]`},
		{"nested", `[{"by_default":[{"kms":"","alg":"AES256"}],"bucket_key":false}]`, `[{"by_default":[{"alg":"AES256"}]}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in any
			if err := json.Unmarshal([]byte(tc.in), &in); err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(set(in))
			if err != nil || string(got) != tc.want {
				t.Errorf("set(%s) = %s (%v), want %s", tc.in, got, err, tc.want)
			}
		})
	}
}
