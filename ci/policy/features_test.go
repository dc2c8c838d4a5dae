package policy

import "testing"

func TestFeatureFile(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"tags.feature", "tags.feature"},
		{"network/subnets.feature", "network__subnets.feature"},
		{"a/b/c.feature", "a__b__c.feature"},
	} {
		if got := FeatureFile(tt.in); got != tt.want {
			t.Errorf("FeatureFile(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if FeatureFile("a/tags.feature") == FeatureFile("b/tags.feature") {
		t.Error("two folders' tags.feature collide")
	}
}
