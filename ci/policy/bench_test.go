package policy

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkEvalLargePlan runs the pack with the real opa CLI on a plan of 600 resources
// (150 buckets, each with versioning, encryption and a public access block): the rules
// that join buckets to their attachments must stay linear in the plan's size.
func BenchmarkEvalLargePlan(b *testing.B) {
	opa, err := exec.LookPath("opa")
	if err != nil {
		b.Fatalf("opa is not on PATH: %v", err)
	}
	dir := b.TempDir()
	var changes, config []map[string]any
	add := func(typ, name string, after map[string]any, refs []string) {
		changes = append(changes, map[string]any{
			"address": typ + "." + name, "mode": "managed", "type": typ, "name": name,
			"change": map[string]any{"actions": []string{"create"}, "after": after, "after_unknown": map[string]any{}},
		})
		config = append(config, map[string]any{
			"address": typ + "." + name, "mode": "managed", "type": typ, "name": name,
			"expressions": map[string]any{"bucket": map[string]any{"references": refs}},
		})
	}
	for i := range 150 {
		name := fmt.Sprintf("b%d", i)
		refs := []string{"aws_s3_bucket." + name + ".id", "aws_s3_bucket." + name}
		add("aws_s3_bucket", name, map[string]any{"bucket": name, "tags": map[string]string{}}, nil)
		add("aws_s3_bucket_versioning", name, map[string]any{"versioning_configuration": []any{map[string]string{"status": "Enabled"}}}, refs)
		add("aws_s3_bucket_server_side_encryption_configuration", name, map[string]any{}, refs)
		add("aws_s3_bucket_public_access_block", name, map[string]any{"block_public_acls": true}, refs)
	}
	plan, _ := json.Marshal(map[string]any{"resource_changes": changes, "configuration": map[string]any{"root_module": map[string]any{"resources": config}}})
	if err := os.WriteFile(filepath.Join(dir, "plan.json"), plan, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := WritePack(filepath.Join(dir, "pack")); err != nil {
		b.Fatal(err)
	}
	args, _ := Eval{Pack: filepath.Join(dir, "pack"), Input: filepath.Join(dir, "plan.json")}.Args()
	for b.Loop() {
		out, err := exec.Command(opa, args[1:]...).Output()
		if err != nil {
			b.Fatal(err)
		}
		r, err := Parse("opa.json", out)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Findings) != 300 { // required_tags and the partial access block, per bucket
			b.Fatalf("%d findings, want 300", len(r.Findings))
		}
	}
}
