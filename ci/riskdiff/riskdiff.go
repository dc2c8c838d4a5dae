// Package riskdiff shows a reviewer the before and after of the attributes that decide who
// can reach what: network rules, access policies, public access and encryption settings. The
// safety gate catches deletes and replaces; a security group opened to the internet or a
// policy widened is an in-place update that only a person reading these values can judge.
// Values Terraform marks sensitive are never shown.
package riskdiff

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/infrapipe/infrapipe/ci/internal/markdown"
)

// Risky lists, per resource type, the attributes whose change a reviewer must see.
var Risky = map[string][]string{
	"aws_security_group":                                 {"ingress", "egress"},
	"aws_security_group_rule":                            {"type", "cidr_blocks", "ipv6_cidr_blocks", "from_port", "to_port", "protocol", "source_security_group_id"},
	"aws_vpc_security_group_ingress_rule":                {"cidr_ipv4", "cidr_ipv6", "from_port", "to_port", "ip_protocol", "referenced_security_group_id"},
	"aws_vpc_security_group_egress_rule":                 {"cidr_ipv4", "cidr_ipv6", "from_port", "to_port", "ip_protocol", "referenced_security_group_id"},
	"aws_network_acl_rule":                               {"cidr_block", "rule_action", "from_port", "to_port", "egress"},
	"aws_iam_policy":                                     {"policy"},
	"aws_iam_role":                                       {"assume_role_policy"},
	"aws_iam_role_policy":                                {"policy"},
	"aws_iam_user_policy":                                {"policy"},
	"aws_iam_group_policy":                               {"policy"},
	"aws_iam_role_policy_attachment":                     {"policy_arn"},
	"aws_s3_bucket_policy":                               {"policy"},
	"aws_s3_bucket_acl":                                  {"acl", "access_control_policy"},
	"aws_s3_bucket_public_access_block":                  {"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"},
	"aws_s3_bucket_server_side_encryption_configuration": {"rule"},
	"aws_sns_topic":                                      {"kms_master_key_id", "policy"},
	"aws_sns_topic_policy":                               {"policy"},
	"aws_sqs_queue":                                      {"kms_master_key_id", "sqs_managed_sse_enabled", "policy"},
	"aws_sqs_queue_policy":                               {"policy"},
	"aws_kms_key":                                        {"policy", "enable_key_rotation"},
	"aws_dynamodb_table":                                 {"server_side_encryption"},
	"aws_db_instance":                                    {"publicly_accessible", "storage_encrypted", "iam_database_authentication_enabled"},
	"aws_lambda_permission":                              {"principal", "source_arn", "action"},
	"aws_lambda_function_url":                            {"authorization_type"},
}

// Diff is one risky attribute of one change, its values rendered for a reviewer.
type Diff struct {
	Address   string
	Type      string
	Actions   string // e.g. "update", "create"
	Attribute string
	Before    string
	After     string
}

// Shown values are cut at maxValue bytes: a policy document is long, and the plan file
// has the rest.
const maxValue = 400

const (
	none      = "(none)"
	sensitive = "(sensitive)"
	unknown   = "(known after apply)"
)

// Read returns the risky attribute changes of a plan (`terraform show -json`), in the plan's
// order, for creates, updates and replaces; an attribute whose value does not change is left
// out. masked are values to hide wherever they occur (the secret variables file's, which
// Terraform does not mark when their variable is not declared sensitive).
func Read(planJSON io.Reader, masked []string) ([]Diff, error) {
	var p tfjson.Plan
	if err := json.NewDecoder(planJSON).Decode(&p); err != nil {
		return nil, fmt.Errorf("read the plan JSON: %w", err)
	}
	var out []Diff
	for _, rc := range p.ResourceChanges {
		attrs, ok := Risky[rc.Type]
		if !ok || rc.Change == nil || rc.Mode != tfjson.ManagedResourceMode {
			continue
		}
		a := rc.Change.Actions
		if !a.Create() && !a.Update() && !a.Replace() {
			continue
		}
		before, after := asMap(rc.Change.Before), asMap(rc.Change.After)
		beforeSens, afterSens := asMap(rc.Change.BeforeSensitive), asMap(rc.Change.AfterSensitive)
		afterUnknown := asMap(rc.Change.AfterUnknown)
		for _, attr := range attrs {
			b := render(before, beforeSens, nil, attr, masked)
			f := render(after, afterSens, afterUnknown, attr, masked)
			// Unchanged, unchanged but for what is unset in an object that exists (a false
			// read back from the cloud planned as null), or filled in by the provider with
			// nothing set in the configuration: nothing for a reviewer to read. A create's
			// false is shown: public access blocks all off is a value to read.
			if (b == f && f != unknown) || (b == none && (f == none || f == unknown)) ||
				(b != none && b != sensitive && f != sensitive && f != unknown && reflect.DeepEqual(set(before[attr]), set(after[attr]))) {
				continue
			}
			out = append(out, Diff{Address: rc.Address, Type: rc.Type, Actions: actionWord(a), Attribute: attr, Before: b, After: f})
		}
	}
	return out, nil
}

// set is v without what reads as unset: null, false, "" and what holds only those. The
// provider plans an optional attribute the configuration leaves out as null where the state
// read it back as false or "". Numbers stay: a port 0 is a value.
func set(v any) any {
	switch v := v.(type) {
	case nil, bool, string:
		if v == nil || v == false || v == "" {
			return nil
		}
		return v
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if x = set(x); x != nil {
				out[k] = x
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		out := make([]any, len(v))
		empty := true
		for i, x := range v {
			out[i] = set(x)
			empty = empty && out[i] == nil
		}
		if empty {
			return nil
		}
		return out
	}
	return v
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// render shows one attribute: sensitive wins over unknown, which wins over the value, whose
// masked parts are hidden before it is cut.
func render(values, sens, unknowns map[string]any, attr string, masked []string) string {
	if marked(sens[attr]) {
		return sensitive
	}
	if marked(unknowns[attr]) {
		return unknown
	}
	v, ok := values[attr]
	if !ok || v == nil {
		return none
	}
	if s, ok := v.(string); ok {
		v = compactJSON(s)
	}
	v = scrub(v, masked)
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(data)
	if len(s) > maxValue {
		s = s[:maxValue] + fmt.Sprintf("… (%d bytes)", len(data))
	}
	return s
}

// scrub hides the masked values in every string of v.
func scrub(v any, masked []string) any {
	switch v := v.(type) {
	case string:
		for _, m := range masked {
			v = strings.ReplaceAll(v, m, sensitive)
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[scrub(k, masked).(string)] = scrub(x, masked)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = scrub(x, masked)
		}
		return out
	}
	return v
}

// compactJSON turns a JSON document held in a string (a policy) into its value, so it is
// shown compact and in a stable form; other strings stay strings.
func compactJSON(s string) any {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		return s
	}
	var v any
	if json.Unmarshal([]byte(t), &v) != nil {
		return s
	}
	return v
}

// marked reports whether a sensitive or unknown marker covers any part of a value.
func marked(m any) bool {
	switch m := m.(type) {
	case bool:
		return m
	case []any:
		return slices.ContainsFunc(m, marked)
	case map[string]any:
		for _, v := range m {
			if marked(v) {
				return true
			}
		}
	}
	return false
}

// ranked orders the rows a reviewer must see first: what changes existing objects (updates,
// then replaces) before what is created, and within each, every type and attribute once
// before any twice, so three hundred new policies do not hide a widened security group.
// The plan's order stands otherwise.
func ranked(diffs []Diff) []Diff {
	rank := map[string]int{"update": 0, "replace": 1, "create": 2}
	type row struct {
		Diff
		nth int // the rows of its action, type and attribute before it
	}
	rows := make([]row, len(diffs))
	seen := map[string]int{}
	for i, d := range diffs {
		key := d.Actions + "\x00" + d.Type + "\x00" + d.Attribute
		rows[i] = row{d, seen[key]}
		seen[key]++
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(rank[a.Actions], rank[b.Actions]), cmp.Compare(a.nth, b.nth))
	})
	out := make([]Diff, len(rows))
	for i, r := range rows {
		out[i] = r.Diff
	}
	return out
}

func actionWord(a tfjson.Actions) string {
	switch {
	case a.Replace():
		return "replace"
	case a.Create():
		return "create"
	default:
		return "update"
	}
}

// Markdown is the summary section: one row per risky attribute, values in code spans, at
// most upTo rows (ranked); "" when the plan changes none.
func Markdown(diffs []Diff, upTo int) string {
	if len(diffs) == 0 {
		return ""
	}
	diffs = ranked(diffs)
	var b strings.Builder
	b.WriteString("## Access and encryption changes\n\n")
	b.WriteString("Who can reach what, as this plan changes it: read these before you approve.\n\n")
	b.WriteString("| resource | action | attribute | before | after |\n|---|---|---|---|---|\n")
	for i, d := range diffs {
		if i == upTo {
			fmt.Fprintf(&b, "\n… %d more in the plan.\n", len(diffs)-upTo)
			break
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", markdown.CodeSpan(d.Address), d.Actions, markdown.CodeSpan(d.Attribute),
			markdown.CodeSpan(d.Before), markdown.CodeSpan(d.After))
	}
	return b.String()
}
