package main

import (
	"strings"
	"testing"
)

// A stack's run names its own Terraform directory in reproduce lines, once, and keeps the
// call's other constructor options.
func TestForStack(t *testing.T) {
	m := &Infra{TerraformDir: "infra", Options: []string{"--terraform-dir=infra", "--emulate-aws"}}
	for _, tt := range []struct{ dir, want string }{
		{"stacks/network", "--emulate-aws --terraform-dir=stacks/network"},
		{"terraform", "--emulate-aws"}, // the default needs no flag
		{".", "--emulate-aws --terraform-dir=."},
	} {
		sm := m.forStack(tt.dir)
		if sm.TerraformDir != tt.dir || strings.Join(sm.Options, " ") != tt.want {
			t.Errorf("forStack(%q): dir %q, options %v; want %s", tt.dir, sm.TerraformDir, sm.Options, tt.want)
		}
	}
	if m.TerraformDir != "infra" || len(m.Options) != 2 {
		t.Errorf("forStack changed the module it copies: %+v", m)
	}
}
